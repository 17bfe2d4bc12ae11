// Checks one recorded answer of the daemon against the OpenAPI document.
// A record is what tests/integration/harness.c writes with
// PROVISIOND_API_CAPTURE set: {listener, method, path, status,
// content_type, length, body?}. check() returns null when the answer is
// one the document describes, or why not.
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { isDeepStrictEqual } from "node:util";

const SCHEMAS = "#/components/schemas/";

// The document's schemas under one root, $refs rewritten to it, so Ajv
// (JSON Schema 2020-12, the dialect of OpenAPI 3.1) resolves them.
function schemaRoot(doc) {
  const rewrite = (v) => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === "object") {
      const o = {};
      for (const [k, x] of Object.entries(v))
        o[k] = k === "$ref" && typeof x === "string" && x.startsWith(SCHEMAS)
          ? "#/$defs/" + x.slice(SCHEMAS.length)
          : rewrite(x);
      return o;
    }
    return v;
  };
  return { $id: "urn:provisiond:openapi", $defs: rewrite(doc.components.schemas) };
}

function pathMatcher(template) {
  const parts = template.split("/");
  const literal = parts.filter((p) => !p.startsWith("{")).length;
  const re = new RegExp(
    "^" + parts.map((p) => (p.startsWith("{") ? "[^/]+" : p.replace(/[.*+?^$()|[\]\\]/g, "\\$&"))).join("/") + "$",
  );
  return { template, literal, re };
}

export class Checker {
  constructor(doc) {
    this.doc = doc;
    this.ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(this.ajv);
    this.ajv.addSchema(schemaRoot(doc));
    this.validators = new Map();
    // the most literal template first: /v1/agent/lookup before a {param}
    this.paths = Object.keys(doc.paths).map(pathMatcher).sort((a, b) => b.literal - a.literal);
    this.seen = new Set();
  }

  validator(name) {
    if (!this.validators.has(name)) {
      if (!(name in this.doc.components.schemas)) throw new Error(`no schema ${name}`);
      this.validators.set(name, this.ajv.compile({ $ref: `urn:provisiond:openapi#/$defs/${name}` }));
    }
    return this.validators.get(name);
  }

  resolve(obj) {
    const ref = obj && obj.$ref;
    if (!ref) return obj;
    const m = /^#\/components\/responses\/(.+)$/.exec(ref);
    if (!m || !this.doc.components.responses[m[1]]) throw new Error(`unresolvable ${ref}`);
    return this.doc.components.responses[m[1]];
  }

  // The operation the record answered, the path item, and the template.
  operation(rec) {
    const path = rec.path.split("?")[0];
    for (const p of this.paths) {
      if (!p.re.test(path)) continue;
      const item = this.doc.paths[p.template];
      const op = item[rec.method.toLowerCase()];
      return { template: p.template, item, op };
    }
    return null;
  }

  // The schema name of a content entry ({schema: {$ref}}), or null.
  static schemaName(content) {
    const ref = content && content.schema && content.schema.$ref;
    return ref && ref.startsWith(SCHEMAS) ? ref.slice(SCHEMAS.length) : null;
  }

  checkBody(rec, response) {
    const content = response.content;
    if (!content) return rec.length === 0 ? null : `a body of ${rec.length} bytes where none is documented`;
    const media = (rec.content_type || "").split(";")[0].trim().toLowerCase();
    const key = Object.keys(content).find((k) => k.split(";")[0].trim().toLowerCase() === media);
    if (key === undefined) return `content type '${rec.content_type}' is not one of ${Object.keys(content).join(", ")}`;
    if (media !== "application/json") return null;
    if (typeof rec.body !== "string") return `a JSON answer without a readable body (${rec.length} bytes)`;
    let body;
    try {
      body = JSON.parse(rec.body);
    } catch (e) {
      return `a body that is not JSON: ${e.message}`;
    }
    const name = Checker.schemaName(content[key]);
    if (!name) return `no schema for ${key}`;
    const validate = this.validator(name);
    if (!validate(body)) {
      const why = validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}${e.params && e.params.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`);
      return `does not match ${name}: ${why.slice(0, 5).join("; ")}`;
    }
    if (rec.method === "GET" && rec.path.split("?")[0] === "/v1/openapi.json" && rec.status === 200 && !isDeepStrictEqual(body, this.doc))
      return "the served document differs from docs/openapi.yaml (run scripts/openapi)";
    return null;
  }

  // null when the document describes the answer; why not otherwise.
  check(rec) {
    const m = this.operation(rec);
    const error = rec.status >= 400;
    // a route of the other listener is no route on this one
    if (!m || !m.op || !(m.op["x-listener"] || []).includes(rec.listener)) {
      // no such route (404) or method (405): the shared error shape
      if (!error) return `${rec.status} for a route the document does not have on the ${rec.listener} listener`;
      return this.checkBody(rec, this.resolve(this.doc.components.responses.Error));
    }
    const documented = m.op.responses[String(rec.status)];
    if (!documented && !error) return `status ${rec.status} is not documented`;
    this.seen.add(`${rec.method} ${m.template} ${documented ? rec.status : "default"}`);
    return this.checkBody(rec, this.resolve(documented || m.op.responses.default));
  }

  // The operations' success answers no record exercised.
  unexercised() {
    const out = [];
    for (const [template, item] of Object.entries(this.doc.paths))
      for (const [method, op] of Object.entries(item)) {
        if (method === "servers") continue;
        for (const status of Object.keys(op.responses))
          if (/^2/.test(status) && !this.seen.has(`${method.toUpperCase()} ${template} ${status}`))
            out.push(`${method.toUpperCase()} ${template} ${status}`);
      }
    return out;
  }
}
