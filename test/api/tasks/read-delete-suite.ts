import { randomUUID } from 'node:crypto';
import { createTaskCore } from '../../../src/api/tasks/create';
import { deleteTaskCore } from '../../../src/api/tasks/delete';
import { getTaskCore } from '../../../src/api/tasks/get';
import { listTasksCore } from '../../../src/api/tasks/list';
import { getResultCore } from '../../../src/api/tasks/result';
import type { ApiDeps } from '../../../src/api/deps';
import type { ApiRequest, ApiResponse, Principal } from '../../../src/http/request';
import { ApiError, problemResponse } from '../../../src/http/problem';
import { apiRequest, run } from '../support/api-harness';
import type { ApiBackend } from '../support/backends';
import { completedTask, openTaskHarness, pdfBody, signedInUser, type TaskHarness } from './task-harness';

/** Like `run`, but keeps raw (text/plain) bodies and headers as the adapter would send them. */
async function raw(core: (req: ApiRequest, deps: ApiDeps) => Promise<ApiResponse>, deps: ApiDeps, input: Partial<ApiRequest>): Promise<ApiResponse> {
  try {
    return await core(apiRequest(input), deps);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return problemResponse(error, 'test');
  }
}

async function auditActions(h: TaskHarness, taskId: string): Promise<string[]> {
  const { rows } = await h.owner.query<{ action: string }>('SELECT action FROM audit_events WHERE task_id = $1 ORDER BY id', [taskId]);
  return rows.map((r) => r.action);
}

/** Reading, results and deletion, registered per database backend (see create-suite.ts). */
export function registerReadDeleteSuite(backend: ApiBackend): void {
  describe(`the task routes for two users on ${backend.name}`, () => {
    let h: TaskHarness;
    let alice: Principal;
    let bob: Principal;

    beforeAll(async () => {
      h = await openTaskHarness({}, backend);
      alice = await signedInUser(h, 'alice');
      bob = await signedInUser(h, 'bob');
    });

    afterAll(() => h.dispose());

    describe('reading tasks', () => {
      it('lists the caller\'s tasks newest first, page by page, never another user\'s', async () => {
        // Prepare
        const ids: string[] = [];
        for (let i = 0; i < 5; i += 1) {
          const created = await run(createTaskCore, h.deps, { principal: alice, body: pdfBody(10) });
          ids.push((created.body.task as { id: string }).id);
        }
        await run(createTaskCore, h.deps, { principal: bob, body: pdfBody(10) });

        // Act
        const first = await run(listTasksCore, h.deps, { method: 'GET', principal: alice, query: { limit: '3' } });
        const second = await run(listTasksCore, h.deps, { method: 'GET', principal: alice, query: { limit: '3', cursor: String(first.body.nextCursor) } });

        // Assess
        const seen = [...(first.body.items as Array<{ id: string }>), ...(second.body.items as Array<{ id: string }>)].map((t) => t.id);
        expect(seen).toEqual([...ids].reverse());
        expect(second.body.nextCursor).toBeNull();
      });

      it('filters by status and records task.list in the audit trail', async () => {
        // Act
        const response = await run(listTasksCore, h.deps, { method: 'GET', principal: alice, query: { status: 'completed' } });

        // Assess
        expect(response.status).toBe(200);
        expect(response.body.items).toEqual([]);
        const { rows } = await h.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_events WHERE action = 'task.list' AND actor_user_id = $1`, [alice.userId]);
        expect(rows[0]!.n).toBeGreaterThan(0);
      });

      it.each([
        [{ cursor: 'bm90LWEtY3Vyc29y' }, 'cursor'],
        [{ limit: '0' }, 'limit'],
        [{ limit: '101' }, 'limit'],
        [{ limit: '1e1' }, 'limit'],
        [{ status: 'deleted' }, 'status'],
        [{ owner: 'x' }, 'owner'],
      ])('refuses the listing query %j with 400 naming %s', async (query, field) => {
        // Act
        const response = await run(listTasksCore, h.deps, { method: 'GET', principal: alice, query });

        // Assess
        expect(response.status).toBe(400);
        expect((response.body.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
      });

      it('gets the owner\'s completed task with a result summary and no storage keys', async () => {
        // Prepare
        const { taskId } = await completedTask(h, alice.userId);

        // Act
        const response = await run(getTaskCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId.toUpperCase() } });

        // Assess
        expect(response.status).toBe(200);
        const task = response.body.task as Record<string, unknown>;
        expect(task).toMatchObject({ id: taskId, status: 'completed', pageCount: 1, pagesDone: 1 });
        expect(task.result).toEqual({ pageCount: 1, wordCount: 1, confidence: 0.9, model: 'test', processingMs: 10, completedAt: expect.any(String) });
        expect(JSON.stringify(response.body)).not.toMatch(/results\/|uploads\//);
        expect(await auditActions(h, taskId)).toContain('task.read');
      });

      it('answers another user\'s task with the same 404 as a random id, auditing both attempts', async () => {
        // Prepare
        const { taskId } = await completedTask(h, alice.userId);
        const randomId = randomUUID();

        // Act
        const other = await run(getTaskCore, h.deps, { method: 'GET', principal: bob, pathParameters: { id: taskId } });
        const random = await run(getTaskCore, h.deps, { method: 'GET', principal: bob, pathParameters: { id: randomId } });

        // Assess
        expect(other).toEqual(random);
        expect(other.status).toBe(404);
        expect(await auditActions(h, taskId)).toEqual(['task.read']);
        expect(await auditActions(h, randomId)).toEqual(['task.read']);
      });

      it('serves the HTML result as a 300-second presigned GET that downloads as an attachment named by id', async () => {
        // Prepare
        const { taskId, keys } = await completedTask(h, alice.userId);

        // Act
        const response = await run(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId }, query: { format: 'html' } });

        // Assess
        expect(response.status).toBe(200);
        const url = new URL(String(response.body.url));
        expect(decodeURIComponent(url.pathname)).toContain(keys.htmlKey);
        expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
        expect(url.searchParams.get('response-content-disposition')).toBe(`attachment; filename="${taskId}.html"`);
        expect(url.searchParams.get('response-content-type')).toBe('text/html; charset=utf-8');
        expect(await auditActions(h, taskId)).toContain('task.result.read');
      });

      it('serves text inline as text/plain and JSON inline as the stored document', async () => {
        // Prepare
        const { taskId } = await completedTask(h, alice.userId, { text: 'Grüße\nZeile 2', json: '{"pages":[{"n":1}]}' });

        // Act
        const text = await raw(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId }, query: { format: 'text' } });
        const json = await raw(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId }, query: { format: 'json' } });

        // Assess
        expect(text.rawBody).toEqual({ contentType: 'text/plain; charset=utf-8', body: 'Grüße\nZeile 2' });
        expect(json.rawBody?.contentType).toBe('application/json; charset=utf-8');
        expect(JSON.parse(json.rawBody!.body)).toEqual({ pages: [{ n: 1 }] });
      });

      it('serves an empty text result as an empty body', async () => {
        // Prepare
        const { taskId } = await completedTask(h, alice.userId, { text: '' });

        // Act
        const text = await raw(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId }, query: { format: 'text' } });

        // Assess
        expect(text.status).toBe(200);
        expect(text.rawBody?.body).toBe('');
      });

      it('answers 303 to a presigned GET for text above the inline limit', async () => {
        // Prepare
        const { taskId, keys } = await completedTask(h, alice.userId, { text: 'x'.repeat(101) });
        const limits = h.deps.config.limits;
        h.deps.config.limits = { ...limits, inlineResultMaxBytes: 100 };

        // Act
        const response = await raw(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId }, query: { format: 'text' } });
        h.deps.config.limits = limits;

        // Assess
        expect(response.status).toBe(303);
        const location = new URL(response.headers!.location!);
        expect(decodeURIComponent(location.pathname)).toContain(keys.textKey);
        expect(location.searchParams.get('response-content-disposition')).toBe(`attachment; filename="${taskId}.txt"`);
      });

      it('answers 303 for a quote- and newline-heavy result under 5 MB whose escaped form would not fit a Lambda response', async () => {
        // Prepare: 4.9 MB that JSON escaping doubles to 9.8 MB, past Lambda's 6 MB response limit.
        const heavy = '"\n'.repeat(Math.floor((4.9 * 1024 * 1024) / 2));
        const quotes = JSON.stringify({ text: '"'.repeat(Math.floor((4.8 * 1024 * 1024) / 2)) });
        const { taskId } = await completedTask(h, alice.userId, { text: heavy, json: quotes });

        // Act
        const text = await raw(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId }, query: { format: 'text' } });
        const json = await raw(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId }, query: { format: 'json' } });

        // Assess
        expect(Math.max(Buffer.byteLength(heavy), Buffer.byteLength(quotes))).toBeLessThan(h.deps.config.limits.inlineResultMaxBytes);
        expect([text.status, json.status]).toEqual([303, 303]);
        expect(text.headers?.location).toEqual(expect.stringContaining(taskId));
      });

      it('answers 409 not_ready to the owner of a task still awaiting upload, and 404 to anyone else', async () => {
        // Prepare
        const created = await run(createTaskCore, h.deps, { principal: alice, body: pdfBody(10) });
        const id = (created.body.task as { id: string }).id;

        // Act
        const owner = await run(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id } });
        const other = await run(getResultCore, h.deps, { method: 'GET', principal: bob, pathParameters: { id } });

        // Assess
        expect(owner.status).toBe(409);
        expect(owner.body.code).toBe('not_ready');
        expect(other.status).toBe(404);
      });

      it('refuses an unknown result format with 400', async () => {
        // Act
        const response = await run(getResultCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: randomUUID() }, query: { format: 'pdf' } });

        // Assess
        expect(response.status).toBe(400);
      });
    });

    describe('deleting a task', () => {
      it('erases every version of the upload and results, keeps the tombstone, publishes the event and answers 404 afterwards', async () => {
        // Prepare
        const { taskId, uploadKey, keys } = await completedTask(h, alice.userId);
        await h.store.put({ key: uploadKey, body: '%PDF again', contentType: 'application/pdf' });

        // Act
        const response = await raw(deleteTaskCore, h.deps, { method: 'DELETE', principal: alice, pathParameters: { id: taskId } });
        const after = await run(getTaskCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId } });

        // Assess
        expect(response.status).toBe(204);
        for (const key of [uploadKey, keys.htmlKey, keys.textKey, keys.jsonKey]) expect(await h.store.findVersion(key)).toBeNull();
        expect(await h.store.get(`${keys.htmlKey.slice(0, keys.htmlKey.lastIndexOf('/') + 1)}pages/1.json`)).toBeNull();
        const { rows } = await h.deps.db.query<{ status: string; original_name: string | null; text: string | null }>(
          'SELECT t.status, f.original_name, r.text FROM tasks t JOIN files f ON f.id = t.file_id JOIN results r ON r.task_id = t.id WHERE t.id = $1',
          [taskId],
        );
        expect(rows).toEqual([{ status: 'deleted', original_name: null, text: null }]);
        expect(h.events.at(-1)).toMatchObject({ taskId, status: 'deleted', previousStatus: 'completed', userId: alice.userId });
        expect(after.status).toBe(404);
        expect(await auditActions(h, taskId)).toEqual(['task.delete', 'task.read']);
      });

      it('answers another user\'s task with 404 and leaves it and its objects alone', async () => {
        // Prepare
        const { taskId, keys } = await completedTask(h, alice.userId);

        // Act
        const response = await run(deleteTaskCore, h.deps, { method: 'DELETE', principal: bob, pathParameters: { id: taskId } });

        // Assess
        expect(response.status).toBe(404);
        expect(await h.store.get(keys.htmlKey)).not.toBeNull();
        const own = await run(getTaskCore, h.deps, { method: 'GET', principal: alice, pathParameters: { id: taskId } });
        expect(own.status).toBe(200);
      });

      it('answers 503 erasure_pending when erasure fails after the commit, and a repeated DELETE erases and answers 404', async () => {
        // Prepare
        const { taskId, keys } = await completedTask(h, alice.userId);
        const original = h.store.deleteAllVersions.bind(h.store);
        const spy = jest.spyOn(h.store, 'deleteAllVersions').mockRejectedValueOnce(new Error('S3 unavailable'));

        // Act
        const first = await run(deleteTaskCore, h.deps, { method: 'DELETE', principal: alice, pathParameters: { id: taskId } });
        const objectsAfterFailure = await h.store.get(keys.htmlKey);
        spy.mockImplementation(original);
        const second = await run(deleteTaskCore, h.deps, { method: 'DELETE', principal: alice, pathParameters: { id: taskId } });

        // Assess
        expect(first.status).toBe(503);
        expect(first.body.code).toBe('erasure_pending');
        expect(first.headers['retry-after']).toBe('30');
        expect(objectsAfterFailure).not.toBeNull();
        expect(second.status).toBe(404);
        expect(await h.store.get(keys.htmlKey)).toBeNull();
        expect(await auditActions(h, taskId)).toEqual(['task.delete', 'task.erase_failed', 'task.delete']);
        spy.mockRestore();
      });

      it('answers a malformed id with the same 404 as a missing one, auditing the attempt without an id', async () => {
        // Act
        const malformed = await run(deleteTaskCore, h.deps, { method: 'DELETE', principal: alice, pathParameters: { id: 'not-a-uuid' } });
        const missing = await run(deleteTaskCore, h.deps, { method: 'DELETE', principal: alice, pathParameters: { id: randomUUID() } });

        // Assess
        expect(malformed).toEqual(missing);
        expect(malformed.status).toBe(404);
      });
    });
  });
}
