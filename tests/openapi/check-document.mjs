// The openapi_document test: docs/openapi.yaml is exactly the document the
// daemon serves at GET /v1/openapi.json (provisiond --openapi prints the
// same, from the same code). On a difference, run scripts/openapi.
//   node check-document.mjs docs/openapi.yaml PATH/TO/provisiond
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { parse } from "yaml";

const [docPath, bin] = process.argv.slice(2);
const committed = parse(readFileSync(docPath, "utf8"));
const served = JSON.parse(execFileSync(bin, ["--openapi"], { encoding: "utf8" }));

// The first place where a and b differ, as a JSON pointer.
function firstDifference(a, b, at = "") {
  if (isDeepStrictEqual(a, b)) return null;
  if (a && b && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(a[k], b[k], `${at}/${String(k).replace(/~/g, "~0").replace(/\//g, "~1")}`);
      if (d) return d;
    }
  }
  return `${at || "/"}: ${docPath} has ${JSON.stringify(a)}, provisiond serves ${JSON.stringify(b)}`.slice(0, 800);
}

const diff = firstDifference(committed, served);
if (diff) {
  console.log(`FAIL ${docPath} differs from the served document: ${diff}`);
  console.log("Run scripts/openapi to write it again, and commit it.");
  console.log("0 passed, 1 failed");
  process.exit(1);
}
console.log(`${docPath} is the document provisiond serves (${Object.keys(served.paths).length} paths)`);
console.log("1 passed, 0 failed");
