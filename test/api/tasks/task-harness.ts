import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessEventBus } from '../../../src/adapters/local/in-process-event-bus';
import { loadOrCreateLocalCredentials } from '../../../src/adapters/local/local-credentials';
import { LocalObjectStore } from '../../../src/adapters/local/local-object-store';
import type { ApiConfig } from '../../../src/api/config';
import { createSession } from '../../../src/db/repositories/sessions';
import { claimTask, completeTask, createFileAndTask } from '../../../src/db/repositories/tasks';
import { createUser } from '../../../src/db/repositories/users';
import { resultKeys } from '../../../src/domain/storage-keys';
import type { Principal } from '../../../src/http/request';
import type { TaskStatusEventDetail } from '../../../src/ports/event-bus';
import type { ObjectStore } from '../../../src/ports/object-store';
import type { Database } from '../../../src/db/database';
import { InMemoryTicketStore } from '../../../src/realtime/tickets/memory-ticket-store';
import { openApiHarness, type ApiHarness } from '../support/api-harness';
import type { ApiBackend } from '../support/backends';

export interface TaskHarness extends ApiHarness {
  store: LocalObjectStore;
  events: TaskStatusEventDetail[];
  dispose(): Promise<void>;
}

/**
 * API dependencies over a migrated database (PGlite unless a backend is given) with a real on-disk
 * object store, an in-process bus and tickets.
 */
export async function openTaskHarness(config: Partial<ApiConfig> = {}, backend?: ApiBackend): Promise<TaskHarness> {
  const harness = await openApiHarness({ config, ...(backend ? { backend } : {}) });
  const dir = await mkdtemp(join(tmpdir(), 'untxt-task-test-'));
  const store = new LocalObjectStore({
    rootDir: dir,
    bucket: 'test-documents',
    credentials: await loadOrCreateLocalCredentials(dir),
    endpoint: () => 'http://127.0.0.1:9/s3',
    clock: harness.clock,
  });
  await store.init();
  const bus = new InProcessEventBus();
  const events: TaskStatusEventDetail[] = [];
  bus.subscribe((event) => {
    events.push(event);
  });
  harness.deps.objectStore = store;
  harness.deps.eventBus = bus;
  harness.deps.tickets = new InMemoryTicketStore(harness.clock);
  harness.deps.config.websocketUrl = 'wss://ws.example.test/prod';
  return {
    ...harness,
    store,
    events,
    dispose: async () => {
      await bus.close();
      await harness.database.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A user with a live session, and the principal their access token would carry. */
export async function signedInUser(h: ApiHarness, name = 'user'): Promise<Principal> {
  const user = await createUser(h.deps.db, { email: `${name}-${randomBytes(4).toString('hex')}@example.com`, passwordHash: 'x' });
  const session = await createSession(h.deps.db, {
    userId: user.id,
    tokenHash: randomBytes(32).toString('hex'),
    expiresAt: new Date(Date.now() + 3600_000),
  });
  return { userId: user.id, role: 'user', sessionId: session.familyId, mfa: false };
}

export const sha256Hex = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

export function pdfBody(size = 1234): { filename: string; contentType: string; size: number; sha256: string } {
  return { filename: 'scan.pdf', contentType: 'application/pdf', size, sha256: 'ab'.repeat(32) };
}

/**
 * A completed task of `ownerId` with its three result documents (and a page checkpoint) in the
 * store, as the worker leaves them.
 */
export async function completedTask(
  h: { deps: { db: Database }; owner?: Database; store: ObjectStore },
  ownerId: string,
  documents: { html?: string; text?: string; json?: string } = {},
): Promise<{ taskId: string; uploadKey: string; keys: ReturnType<typeof resultKeys> }> {
  // Intake and the worker write with grants the API role lacks (results): as the owner where given.
  const worker = h.owner ?? h.deps.db;
  const created = await createFileAndTask(h.deps.db, { ownerId, originalName: 'scan.pdf', contentType: 'application/pdf', size: 3, sha256: 'cd'.repeat(32) });
  await h.store.put({ key: created.file.s3Key, body: '%PDF', contentType: 'application/pdf' });
  await worker.query(`UPDATE tasks SET status = 'queued', page_count = 1 WHERE id = $1`, [created.task.id]);
  const claim = await claimTask(worker, { taskId: created.task.id, leaseSeconds: 60 });
  if (!claim.claimed) throw new Error('claim refused');
  const keys = resultKeys({ prefix: created.task.resultsPrefix, taskId: created.task.id, at: new Date() });
  await h.store.put({ key: keys.htmlKey, body: documents.html ?? '<section data-page="1"><p>Hello</p></section>', contentType: 'text/html' });
  await h.store.put({ key: keys.textKey, body: documents.text ?? 'Hello', contentType: 'text/plain' });
  await h.store.put({ key: keys.jsonKey, body: documents.json ?? '{"pages":[{"n":1,"blocks":[]}]}', contentType: 'application/json' });
  await h.store.put({ key: `${created.task.resultsPrefix}pages/1.json`, body: '{}', contentType: 'application/json' });
  const done = await completeTask(worker, {
    taskId: created.task.id,
    leaseToken: claim.leaseToken,
    result: { ...keys, text: documents.text ?? 'Hello', confidence: 0.9, wordCount: 1, pageCount: 1, processingMs: 10, model: 'test' },
  });
  if (!done.applied) throw new Error('completion refused');
  return { taskId: created.task.id, uploadKey: created.file.s3Key, keys };
}
