"use strict";
// Reads the vectors file (miniapp_api/domain/condition_vectors.py) and prints, per vector, json-logic-js's
// plain result and the three-valued one of three_valued.js, as one JSON array of [plain, three_valued].

const fs = require("fs");
const jsonLogic = require("json-logic-js");
const { evaluate } = require("./three_valued");

const { conditions, vectors } = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const results = vectors.map(({ condition, data }) => {
  const { rule, domains } = conditions[condition];
  return [jsonLogic.truthy(jsonLogic.apply(rule, data)), evaluate(rule, data, domains)];
});
process.stdout.write(JSON.stringify(results));
