/**
 * `npm start`'s service with its pipeline, end to end over real HTTP: register, log in, create a
 * task, PUT a scanned page to the presigned URL, and the local intake, worker (Tesseract) and
 * result routes take it to a readable result.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../local/config';
import { createLogger } from '../../local/logger';
import { startLocalService, type LocalService } from '../../local/service';
import { getTaskHistory } from '../../src/db/repositories/tasks';
import type { TaskStatusEventDetail } from '../../src/ports/event-bus';
import { account, authorized } from '../api/tasks/local-service';
import { recovery, scanPage, wordsOf } from './support/documents';

const LINES = ['Quarterly report for the northern region', 'Revenue grew by twelve percent this year'];

describe('the local service with its pipeline', () => {
  let service: LocalService;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'untxt-e2e-'));
    const template = process.env.UNTXT_TEST_PGLITE_TEMPLATE;
    if (template) cpSync(template, join(dataDir, 'pgdata'), { recursive: true });
    service = await startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir }), { logger: createLogger('SILENT'), pipeline: true });
  });

  afterAll(async () => {
    await service?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Resolves with the task's final event (completed or failed). */
  function settled(taskId: string): Promise<TaskStatusEventDetail> {
    return new Promise((resolve) => {
      const unsubscribe = service.eventBus.subscribe(async (event) => {
        if (event.taskId !== taskId || (event.status !== 'completed' && event.status !== 'failed')) return;
        unsubscribe();
        resolve(event);
      });
    });
  }

  it('takes an image uploaded through the presigned URL from queued through processing to a completed result with its words', async () => {
    // Prepare
    const page = await scanPage({ lines: LINES }, { width: 1240, height: 400 });
    const user = await account(service, 'e2e');
    const createdResponse = await fetch(
      `${service.apiUrl}/tasks`,
      authorized(user.token, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'page.png', contentType: 'image/png', size: page.byteLength, sha256: createHash('sha256').update(page).digest('hex') }),
      }),
    );
    const created = (await createdResponse.json()) as { task: { id: string }; upload: { url: string; method: string; headers: Record<string, string> } };
    const done = settled(created.task.id);

    // Act
    const upload = await fetch(created.upload.url, { method: created.upload.method, headers: created.upload.headers, body: page });
    const final = await done;
    const task = await fetch(`${service.apiUrl}/tasks/${created.task.id}`, authorized(user.token));
    const text = await fetch(`${service.apiUrl}/tasks/${created.task.id}/result?format=text`, authorized(user.token));

    // Assess
    expect(createdResponse.status).toBe(201);
    expect(upload.status).toBe(200);
    expect(final).toMatchObject({ status: 'completed', pagesDone: 1, pageCount: 1 });
    expect(((await task.json()) as { task: { status: string } }).task.status).toBe('completed');
    expect((await getTaskHistory(service.database, created.task.id)).map((h) => h.toStatus)).toEqual([
      'awaiting_upload',
      'queued',
      'processing',
      'completed',
    ]);
    const { rows } = await service.database.query<{ n: number }>('SELECT count(*)::int AS n FROM results WHERE task_id = $1', [created.task.id]);
    expect(rows[0]!.n).toBe(1);
    expect(text.status).toBe(200);
    expect(recovery(wordsOf(LINES), await text.text())).toBeGreaterThanOrEqual(0.95);
  });
});
