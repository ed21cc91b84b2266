import { intakeObject } from '../../../src/pipeline/intake';
import type { PipelineHarness } from '../../pipeline/support/harness';

/** A task for `bytes` through intake, so its job message is on the queue. */
export async function queuedDocument(h: PipelineHarness, bytes: Uint8Array, options: { contentType?: string; maxAttempts?: number } = {}) {
  const { task, key } = await h.createTask(bytes, options);
  await intakeObject({ key }, h.intakeDeps());
  return task;
}

/** The next job message, received with a 1 s visibility timeout (as the tests' 1 s leases). */
export async function receiveJob(h: PipelineHarness) {
  const [message] = await h.jobs.receive({ visibilityTimeoutSeconds: 1 });
  if (!message) throw new Error('no job message');
  return message;
}
