// The openapi_responses test: every answer the integration tests recorded
// (PROVISIOND_API_CAPTURE, see tests/integration/harness.c) must be one the
// OpenAPI document describes: a documented status, the documented content
// type, and a JSON body that validates against its schema. An answer with
// no schema fails, so the schemas stay complete.
//   node check-responses.mjs docs/openapi.yaml CAPTURE_DIR
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { Checker } from "./responses.mjs";

const [docPath, dir] = process.argv.slice(2);
if (!docPath || !dir) {
  console.error("usage: check-responses.mjs OPENAPI.yaml CAPTURE_DIR");
  process.exit(2);
}
const checker = new Checker(parse(readFileSync(docPath, "utf8")));
const files = readdirSync(dir).filter((f) => f.endsWith(".jsonl")).sort();
let n = 0;
const failures = new Map(); // why -> [count, first record, file]
for (const f of files) {
  for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
    if (!line) continue;
    let rec, why;
    try {
      rec = JSON.parse(line);
      why = checker.check(rec);
    } catch (e) {
      why = `unreadable record: ${e.message}`;
    }
    n++;
    if (!why) continue;
    const key = `${rec ? `${rec.method} ${rec.path.split("?")[0]} -> ${rec.status}` : "?"}: ${why}`;
    const seen = failures.get(key);
    if (seen) seen[0]++;
    else failures.set(key, [1, line.slice(0, 600), f]);
  }
}
const missed = checker.unexercised();
console.log(`${n} answers from ${files.length} test runs checked against ${docPath}`);
if (missed.length) console.log(`success answers no test received (${missed.length}): ${missed.join("; ")}`);
for (const [key, [count, line, f]] of failures)
  console.log(`FAIL ${key} (${count}x; first in ${f}: ${line})`);
if (n === 0) {
  console.log("FAIL no answers recorded: did the integration tests run with PROVISIOND_API_CAPTURE?");
  process.exit(1);
}
const bad = [...failures.values()].reduce((s, [c]) => s + c, 0);
console.log(`${n - bad} passed, ${bad} failed`);
process.exit(bad ? 1 : 0);
