#!/usr/bin/env node
// The `untxt` command (package.json "bin"). Runs the TypeScript sources through tsx's require
// hook, so it works right after `npm ci` with no build step (and via `npx untxt`).
'use strict';
require('tsx/cjs/api').register();
const { main } = require('./main.ts');

main({ argv: process.argv.slice(2), env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`untxt: ${error && error.message ? error.message : String(error)}\n`);
    process.exitCode = 5;
  },
);
