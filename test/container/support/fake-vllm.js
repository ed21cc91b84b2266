// Stands in for `vllm serve` in the entrypoint tests. Reads `--port` and `--served-model-name`
// from its arguments like vLLM, and behaves as FAKE_VLLM_MODE says:
//   ready  - /health and /v1/models answer after FAKE_VLLM_READY_AFTER_MS (default 200)
//   never  - /health answers 503 for ever
//   exit   - exits with FAKE_VLLM_EXIT_CODE (default 3) before it is ready
// In any mode it exits with FAKE_VLLM_EXIT_CODE once the file `${EVENTS_FILE}.die` appears.
// Every signal it gets and its exit are appended to EVENTS_FILE, one line each.
'use strict';
const http = require('node:http');
const fs = require('node:fs');

const args = process.argv.slice(2);
const arg = (name) => args[args.indexOf(name) + 1];
const events = process.env.EVENTS_FILE;
const record = (line) => fs.appendFileSync(events, `vllm:${line}\n`);
const mode = process.env.FAKE_VLLM_MODE || 'ready';
const exitCode = Number(process.env.FAKE_VLLM_EXIT_CODE || 3);
let server;
// Handlers first, so a signal never meets the default action (the tests wait on the files below).
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    record(signal);
    server?.close();
    process.exit(0);
  });
}
fs.writeFileSync(`${events}.vllm-args.json`, JSON.stringify(args));
fs.writeFileSync(`${events}.vllm-env.json`, JSON.stringify(Object.keys(process.env)));

if (mode === 'exit') {
  record(`exit ${exitCode}`);
  process.exit(exitCode);
}
let ready = false;
if (mode === 'ready') setTimeout(() => (ready = true), Number(process.env.FAKE_VLLM_READY_AFTER_MS || 200));

server = http.createServer((req, res) => {
  if (!ready) {
    res.writeHead(503).end();
  } else if (req.url === '/health') {
    res.writeHead(200).end();
  } else if (req.url === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: arg('--served-model-name'), object: 'model' }] }));
  } else {
    res.writeHead(404).end();
  }
});
server.listen(Number(arg('--port')), '127.0.0.1');

setInterval(() => {
  if (fs.existsSync(`${events}.die`)) {
    record(`exit ${exitCode}`);
    process.exit(exitCode);
  }
}, 20);
