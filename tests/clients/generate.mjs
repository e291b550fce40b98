// The types a mini-program developer generates from the document alone: openapi-typescript's Node API, with
// one transform its CLI lacks, binary bodies (uploads, photos, PDFs) as Blob. Usage: node generate.mjs URL OUT
import fs from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [url, out] = process.argv.slice(2);
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const ast = await openapiTS(new URL(url), {
  transform(schemaObject) {
    if (schemaObject.format === "binary") return BLOB;
    return undefined;
  },
});
fs.writeFileSync(out, astToString(ast));
console.log(`types for ${url} written to ${out}`);
