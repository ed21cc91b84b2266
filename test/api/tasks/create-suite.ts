import { createTaskCore } from '../../../src/api/tasks/create';
import type { Principal } from '../../../src/http/request';
import { apiRequest, run } from '../support/api-harness';
import type { ApiBackend } from '../support/backends';
import { openTaskHarness, pdfBody, signedInUser, type TaskHarness } from './task-harness';

async function count(h: TaskHarness, table: 'files' | 'tasks'): Promise<number> {
  const { rows } = await h.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

/**
 * Task creation and its quotas, registered per database backend by create.pglite.test.ts and
 * create.postgres.test.ts. On the server the cores run as untxt_api over a pool, so the parallel
 * creations below really race for the per-user quota lock.
 */
export function registerCreateSuite(backend: ApiBackend): void {
  describe(`creating a task on ${backend.name}`, () => {
    let h: TaskHarness;
    let alice: Principal;

    beforeAll(async () => {
      h = await openTaskHarness({}, backend);
      h.deps.config.limits = { ...h.deps.config.limits, maxUploadBytes: 10_000, maxConcurrentTasks: 3, maxPagesPerDay: 1000, maxBytesPerDay: 1_000_000 };
      alice = await signedInUser(h, 'alice');
    });

    afterAll(() => h.dispose());

    const create = (body: unknown, principal: Principal = alice) =>
      run(createTaskCore, h.deps, { method: 'POST', path: '/v1/tasks', principal, body });

    it('answers 201 with the task awaiting upload and a presigned PUT binding type, size and checksum', async () => {
      // Prepare
      const body = { ...pdfBody(2048), sha256: 'AB'.repeat(32) };

      // Act
      const response = await create(body);

      // Assess
      expect(response.status).toBe(201);
      const { task, upload } = response.body as { task: Record<string, unknown>; upload: { url: string; method: string; headers: Record<string, string>; expiresAt: string } };
      expect(task).toEqual({
        id: expect.any(String),
        status: 'awaiting_upload',
        filename: 'scan.pdf',
        contentType: 'application/pdf',
        size: 2048,
        pageCount: null,
        pagesDone: 0,
        errorCode: null,
        errorMessage: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expect(upload.method).toBe('PUT');
      expect(upload.headers).toEqual({ 'Content-Type': 'application/pdf', 'x-amz-checksum-sha256': Buffer.from('ab'.repeat(32), 'hex').toString('base64') });
      expect(new Date(upload.expiresAt).getTime() - h.clock.now().getTime()).toBeLessThanOrEqual(300_000);
      const url = new URL(upload.url);
      expect(url.pathname).toMatch(new RegExp(`/uploads/${alice.userId}/\\d{4}-\\d{2}/[0-9a-f-]{36}/original\\.pdf$`));
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;x-amz-checksum-sha256');
    });

    it('stores the file with a lower-case checksum and records task.create in the audit trail', async () => {
      // Act
      const response = await create({ ...pdfBody(10), sha256: 'EF'.repeat(32) }, alice);

      // Assess
      const taskId = (response.body.task as { id: string }).id;
      const { rows } = await h.deps.db.query<{ sha256: string; original_name: string }>(
        'SELECT f.sha256, f.original_name FROM files f JOIN tasks t ON t.file_id = f.id WHERE t.id = $1',
        [taskId],
      );
      expect(rows[0]).toEqual({ sha256: 'ef'.repeat(32), original_name: 'scan.pdf' });
      const audit = await h.owner.query<{ action: string; actor_user_id: string; source_ip: string }>(
        'SELECT action, actor_user_id, host(source_ip) AS source_ip FROM audit_events WHERE task_id = $1',
        [taskId],
      );
      expect(audit.rows).toEqual([{ action: 'task.create', actor_user_id: alice.userId, source_ip: '203.0.113.9' }]);
      await h.owner.query(`UPDATE tasks SET status = 'failed', error_code = 'upload_expired' WHERE owner_id = $1`, [alice.userId]);
    });

    it.each([
      ['an unknown field', { ...pdfBody(), ownerId: 'x' }, 'ownerId'],
      ['a file name over 255 bytes of UTF-8', { ...pdfBody(), filename: `${'é'.repeat(126)}.pdf` }, 'filename'],
      ['a file name with a control character', { ...pdfBody(), filename: 'a\nb.pdf' }, 'filename'],
      ['a file name with a path separator', { ...pdfBody(), filename: '../etc/x.pdf' }, 'filename'],
      ['a file name with a bidirectional override', { ...pdfBody(), filename: 'report\u202Efdp.exe.pdf' }, 'filename'],
      ['a file name with a lone surrogate', { ...pdfBody(), filename: 'a\uD800.pdf' }, 'filename'],
      ['a file name of dots', { ...pdfBody(), filename: '..' }, 'filename'],
      ['an extension that disagrees with the type', { ...pdfBody(), filename: 'scan.png' }, 'filename'],
      ['no extension', { ...pdfBody(), filename: 'scan' }, 'filename'],
      ['a type outside the allowlist', { ...pdfBody(), contentType: 'text/html', filename: 'x.html' }, 'contentType'],
      ['a size of zero', { ...pdfBody(0) }, 'size'],
      ['a size above the limit', { ...pdfBody(10_001) }, 'size'],
      ['a fractional size', { ...pdfBody(1.5) }, 'size'],
      ['a checksum that is not 64 hex digits', { ...pdfBody(), sha256: 'zz'.repeat(32) }, 'sha256'],
    ])('refuses %s with 400 naming the field, storing nothing', async (_case, body, field) => {
      // Prepare
      const before = await count(h, 'tasks');

      // Act
      const response = await create(body);

      // Assess
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('validation_failed');
      expect((response.body.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
      expect(await count(h, 'tasks')).toBe(before);
    });

    it.each([
      ['image/jpeg', 'photo.JPEG'],
      ['image/jpeg', 'photo.jpg'],
      ['image/tiff', 'fax.tif'],
      ['image/webp', 'x.webp'],
      ['image/png', 'Ünïcødé 📄 name.png'],
    ])('accepts %s declared by %s', async (contentType, filename) => {
      // Act
      const response = await create({ filename, contentType, size: 5, sha256: '01'.repeat(32) });

      // Assess
      expect(response.status).toBe(201);
      expect((response.body.task as { filename: string }).filename).toBe(filename);
      await h.owner.query(`UPDATE tasks SET status = 'failed', error_code = 'upload_expired' WHERE owner_id = $1`, [alice.userId]);
    });

    it('refuses a caller without a live session with 401', async () => {
      // Act
      const response = await create(pdfBody(), { ...alice, sessionId: '00000000-0000-4000-8000-000000000000' });

      // Assess
      expect(response.status).toBe(401);
    });
  });

  describe(`task quotas on ${backend.name}`, () => {
    let h: TaskHarness;

    beforeEach(async () => {
      h = await openTaskHarness({}, backend);
    });

    afterEach(() => h.dispose());

    it('answers 429 quota_exceeded with a Retry-After once the concurrent tasks are in progress, storing nothing', async () => {
      // Prepare
      h.deps.config.limits = { ...h.deps.config.limits, maxConcurrentTasks: 2 };
      const user = await signedInUser(h);
      const create = () => run(createTaskCore, h.deps, { principal: user, body: pdfBody(10) });
      await create();
      await create();

      // Act
      const response = await create();

      // Assess
      expect(response.status).toBe(429);
      expect(response.body.code).toBe('quota_exceeded');
      expect(response.headers['retry-after']).toBe('60');
      const { rows } = await h.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM tasks');
      expect(rows[0]!.n).toBe(2);
    });

    it('counts tasks of other users apart, and finished tasks no longer as concurrent', async () => {
      // Prepare
      h.deps.config.limits = { ...h.deps.config.limits, maxConcurrentTasks: 1 };
      const [alice, bob] = [await signedInUser(h, 'a'), await signedInUser(h, 'b')];
      await run(createTaskCore, h.deps, { principal: alice, body: pdfBody(10) });
      await h.owner.query(`UPDATE tasks SET status = 'failed', error_code = 'upload_expired'`);

      // Act
      const again = await run(createTaskCore, h.deps, { principal: alice, body: pdfBody(10) });
      const other = await run(createTaskCore, h.deps, { principal: bob, body: pdfBody(10) });

      // Assess
      expect(again.status).toBe(201);
      expect(other.status).toBe(201);
    });

    it('refuses the bytes per day beyond the limit until the next UTC midnight, deleted tasks included', async () => {
      // Prepare
      h.deps.config.limits = { ...h.deps.config.limits, maxBytesPerDay: 100 };
      const user = await signedInUser(h);
      await run(createTaskCore, h.deps, { principal: user, body: pdfBody(60) });
      await h.owner.query(`UPDATE tasks SET status = 'deleted', deleted_at = now()`);
      const now = h.clock.now();
      const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);

      // Act
      const response = await run(createTaskCore, h.deps, { principal: user, body: pdfBody(41) });
      const fits = await run(createTaskCore, h.deps, { principal: user, body: pdfBody(40) });

      // Assess
      expect(response.status).toBe(429);
      expect(response.body.code).toBe('quota_exceeded');
      expect(Number(response.headers['retry-after'])).toBe(Math.ceil((midnight - now.getTime()) / 1000));
      expect(fits.status).toBe(201);
    });

    it('refuses pages per day, counting a task without a page count as one page', async () => {
      // Prepare
      h.deps.config.limits = { ...h.deps.config.limits, maxPagesPerDay: 5 };
      const user = await signedInUser(h);
      await run(createTaskCore, h.deps, { principal: user, body: pdfBody(10) });
      await run(createTaskCore, h.deps, { principal: user, body: pdfBody(10) });
      await h.owner.query(`UPDATE tasks SET page_count = 3 WHERE id = (SELECT id FROM tasks ORDER BY created_at LIMIT 1)`);

      // Act
      const fifth = await run(createTaskCore, h.deps, { principal: user, body: pdfBody(10) });
      const sixth = await run(createTaskCore, h.deps, { principal: user, body: pdfBody(10) });

      // Assess
      expect(fifth.status).toBe(201);
      expect(sixth.status).toBe(429);
      expect(sixth.body.detail).toMatch(/pages/);
    });

    it('lets only as many parallel creations through as the concurrency limit allows', async () => {
      // Prepare
      h.deps.config.limits = { ...h.deps.config.limits, maxConcurrentTasks: 3 };
      const user = await signedInUser(h);

      // Act
      const responses = await Promise.all(Array.from({ length: 6 }, () => createTaskCore(apiRequest({ principal: user, body: pdfBody(10) }), h.deps).then(
        (r) => r.status,
        (e: { status?: number }) => e.status ?? 500,
      )));

      // Assess
      expect(responses.filter((s) => s === 201)).toHaveLength(3);
      expect(responses.filter((s) => s === 429)).toHaveLength(3);
    });
  });
}
