// Stands in for the worker in the entrypoint tests: records `worker:ready` once its signal
// handlers are installed, every signal it gets, and exits FAKE_WORKER_EXIT_CODE (default 0) on
// SIGTERM or SIGINT, as the real worker does after draining. It also records the VLLM_BASE_URL
// it was given.
'use strict';
const fs = require('node:fs');

const events = process.env.EVENTS_FILE;
const record = (line) => fs.appendFileSync(events, `worker:${line}\n`);
// FAKE_WORKER_NO_HANDLER: a worker signalled before it installed its handlers, which the signal's
// default action ends.
for (const signal of process.env.FAKE_WORKER_NO_HANDLER ? [] : ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    record(signal);
    // FAKE_WORKER_HANG: a worker stuck in its drain, which only SIGKILL ends.
    if (!process.env.FAKE_WORKER_HANG) process.exit(Number(process.env.FAKE_WORKER_EXIT_CODE || 0));
  });
}
record(`base-url ${process.env.VLLM_BASE_URL}`);
record('ready');
if (process.env.FAKE_WORKER_EXIT_AFTER_READY) {
  record(`exit ${process.env.FAKE_WORKER_EXIT_AFTER_READY}`);
  process.exit(Number(process.env.FAKE_WORKER_EXIT_AFTER_READY));
}
setInterval(() => {}, 1000);
