#!/usr/bin/env node
// Entry point of `npx logtail-xacct`: runs the TypeScript CLI directly (tsx), so a fresh clone needs
// no build step. Deployed functions are bundled separately and never load this file.

require("tsx/cjs/api").register();
const { main } = require("../cli/main.ts");
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`logtail-xacct: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 70;
  },
);
