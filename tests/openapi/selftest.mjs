// The openapi_checker test: the response checker (responses.mjs) against
// answers it must take and answers it must refuse, on the real document,
// so the openapi_responses test cannot pass by accepting anything.
//   node selftest.mjs docs/openapi.yaml
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { Checker } from "./responses.mjs";

const checker = new Checker(parse(readFileSync(process.argv[2], "utf8")));
const machine = {
  id: "fc5c197a-93ec-43e0-aee6-d287e294ae18", name: "m1", state: "enrolled", sku: null,
  power: "unknown", maintenance: false, maintenance_reason: "", last_error: "",
  location: { site: "dc1", rack: "r12", unit: 1 }, macs: ["52:54:00:00:00:01"],
  allocation_id: null, owner: null, version: 1, created_at: "2026-11-22T13:36:02.926Z",
  updated_at: "2026-11-22T13:36:02.926Z", state_since: "2026-11-22T13:36:02.926Z",
  bmc: { driver: "fake", address: "", username: "", options: { sku: "lab.small" } },
};
const json = (v) => ({ content_type: "application/json", body: JSON.stringify(v), length: JSON.stringify(v).length });
const rec = (method, path, status, extra, listener = "management") => ({ listener, method, path, status, content_type: "", length: 0, ...extra });
const err = json({ error: { code: "not_found", message: "no machine 'x'", field: "id" } });

// [record, null (accepted) or a piece of the reason it is refused]
const cases = [
  [rec("GET", "/v1/machines/m1", 200, json(machine)), null],
  [rec("GET", "/v1/machines?limit=5", 200, json({ items: [machine], next_cursor: "7" })), null],
  [rec("GET", "/v1/machines/x", 404, err), null],
  [rec("GET", "/v1/nope", 404, err), null],
  [rec("DELETE", "/v1/tokens/x", 204, {}), null],
  [rec("GET", "/metrics", 200, { content_type: "text/plain; version=0.0.4", length: 10 }), null],
  [rec("GET", "/healthz", 200, json({ status: "ok" }), "boot"), null],
  [rec("GET", "/v1/agent/command?wait=1", 204, {}, "boot"), null],
  // a password must never be shown: the closed schema refuses it
  [rec("GET", "/v1/machines/m1", 200, json({ ...machine, bmc: { ...machine.bmc, password: "x" } })), "password"],
  [rec("GET", "/v1/machines/m1", 200, json({ ...machine, state: "dancing" })), "/state must be equal to one of the allowed values"],
  [rec("GET", "/v1/machines/m1", 200, json({ ...machine, id: undefined })), "must have required property 'id'"],
  [rec("GET", "/v1/machines/m1", 200, json({ ...machine, created_at: "yesterday" })), "date-time"],
  [rec("GET", "/v1/machines/m1", 201, json(machine)), "not documented"],
  [rec("GET", "/v1/machines/m1", 200, { content_type: "text/plain", length: 2 }), "content type"],
  [rec("GET", "/v1/machines/m1", 200, { content_type: "application/json", length: 3, body: "{x}" }), "not JSON"],
  [rec("GET", "/v1/machines/m1", 200, { content_type: "application/json", length: 3 }), "readable body"],
  [rec("DELETE", "/v1/tokens/x", 204, json({})), "none is documented"],
  [rec("GET", "/v1/nope", 200, json({})), "does not have"],
  [rec("GET", "/v1/machines/x", 404, json({ error: { code: "not_found" } })), "message"],
  [rec("GET", "/v1/machines/x", 400, json({ message: "flat" })), "Error"],
  [rec("GET", "/v1/agent/command", 200, json({ id: "1", name: "wipe", args: {} })), "does not have on the management listener"],
  [rec("GET", "/v1/agent/command", 404, err), null],
  [rec("GET", "/v1/openapi.json", 200, json({ openapi: "3.1.0", info: {}, paths: {}, components: {} })), "differs"],
];
let failed = 0;
for (const [r, want] of cases) {
  const got = checker.check(r);
  const ok = want === null ? got === null : typeof got === "string" && got.includes(want);
  if (!ok) {
    failed++;
    console.log(`FAIL ${r.method} ${r.path} ${r.status}: expected ${want === null ? "acceptance" : `a refusal naming '${want}'`}, got ${got === null ? "acceptance" : `'${got}'`}`);
  }
}
console.log(`${cases.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
