"use strict";
// How the mini-program evaluates a question's show_if the way the server does (miniapp_api/domain/conditions.py):
// json-logic-js reads a fact missing from the data as null, which would count an unanswered question as "no".
// A fact absent from `data` is not known yet: the rule is tried with every value in `domains[fact]` (from
// GET /regions/<r>/dialog, `show_if_domains`); the answer is true or false when every try agrees, else null
// (not known yet: do not show the question yet). A domain of null cannot be enumerated: null while it is absent.
// A fact present with the value null (a question the region did not ask) is known, and reads as null.

const jsonLogic = require("json-logic-js");

const MAX_COMBINATIONS = 4096;

function evaluate(rule, data, domains) {
  const unknown = Object.keys(domains).filter((fact) => !Object.prototype.hasOwnProperty.call(data, fact));
  let total = 1;
  for (const fact of unknown) {
    const domain = domains[fact];
    if (!Array.isArray(domain) || domain.length === 0) return null;
    total *= domain.length;
    if (total > MAX_COMBINATIONS) return null;
  }
  const tried = Object.assign({}, data);
  const at = unknown.map(() => 0);
  let seen = null;
  for (;;) {
    unknown.forEach((fact, i) => { tried[fact] = domains[fact][at[i]]; });
    const value = jsonLogic.truthy(jsonLogic.apply(rule, tried));
    if (seen === null) seen = value;
    else if (seen !== value) return null;
    let i = unknown.length - 1;
    while (i >= 0 && ++at[i] === domains[unknown[i]].length) at[i--] = 0;
    if (i < 0) return seen;
  }
}

module.exports = { evaluate };
