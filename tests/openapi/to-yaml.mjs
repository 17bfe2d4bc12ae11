// Reads the OpenAPI document as JSON (provisiond --openapi) on stdin and
// writes it as YAML on stdout: docs/openapi.yaml (scripts/openapi).
import { readFileSync } from "node:fs";
import { stringify } from "yaml";

const doc = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(
  "# provisiond's HTTP API: GET /v1/openapi.json serves this document as JSON.\n" +
    "# Generated from the route table (provisiond/routes.c) and the answer schemas\n" +
    "# (provisiond/openapi_schemas.c) by scripts/openapi: do not edit; change the\n" +
    "# code and run scripts/openapi. The openapi_document test fails when they differ.\n" +
    stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }),
);
