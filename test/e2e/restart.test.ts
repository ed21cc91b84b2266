/**
 * Restart safety with real processes on one data folder: work queued or in progress when the
 * service is killed with SIGKILL completes exactly once after `npm start` runs again; Ctrl-C
 * (SIGINT) while pages are in the engine lets them finish and be checkpointed, releases the
 * task, and exits 0.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openPgliteDatabase } from '../../src/db/pglite-database';
import { scannedPdf, scanPage } from '../pipeline/support/documents';
import { spawnService, type ServiceProcess } from './support/child';
import { freshDataDir, getTask, historyOf, register, resultRows, submit, waitFor, type User } from './support/e2e';

jest.setTimeout(480_000);

/** Reads the stopped service's database: result rows and completions per task. */
async function inspect(dataDir: string, ids: string[]) {
  const db = await openPgliteDatabase(join(dataDir, 'pgdata'));
  try {
    const results = await resultRows(db, ids);
    const histories = new Map<string, string[]>();
    for (const id of ids) histories.set(id, await historyOf(db, id));
    const { rows } = await db.query<{ id: string; status: string; pages_done: number; lease_released: boolean | null }>(
      'SELECT id, status, pages_done, lease_until < now() AS lease_released FROM tasks WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return { results, histories, tasks: new Map(rows.map((r) => [r.id, r])) };
  } finally {
    await db.close();
  }
}

async function allCompleted(service: ServiceProcess, user: User, ids: string[]): Promise<void> {
  await waitFor('every task to complete after the restart', async () => {
    const tasks = await Promise.all(ids.map((id) => getTask(service.url, user, id)));
    if (tasks.some((t) => t.status === 'failed')) throw new Error(`a task failed: ${JSON.stringify(tasks)}`);
    return tasks.every((t) => t.status === 'completed') ? true : undefined;
  });
}

async function interrupt(service: ServiceProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  service.child.kill('SIGINT');
  return service.exited;
}

describe('restarting the local service', () => {
  const dataDirs: string[] = [];
  const running: ServiceProcess[] = [];

  afterAll(() => {
    for (const service of running) if (service.child.exitCode === null && service.child.signalCode === null) service.child.kill('SIGKILL');
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (...args: Parameters<typeof spawnService>): Promise<ServiceProcess> => {
    const service = await spawnService(...args);
    running.push(service);
    return service;
  };

  it('completes every task queued or in progress before a kill -9 exactly once after npm start runs again', async () => {
    // Prepare: a service whose engine never finishes, so uploaded work stays queued or processing.
    const dataDir = await freshDataDir('restart');
    dataDirs.push(dataDir);
    const stalled = await start('test/e2e/support/serve.ts', dataDir, { E2E_ENGINE: 'stalled' });
    const user = await register(stalled.url, 'restart');
    const ids: string[] = [];
    for (const line of ['First page survives', 'Second page survives', 'Third page survives']) {
      ids.push(await submit(stalled.url, user, await scanPage({ lines: [line] }, { width: 1100, height: 260 }), 'line.png', 'image/png'));
    }
    const pdf = await scannedPdf([await scanPage({ lines: ['Two pages'] }, { width: 600, height: 800 }), await scanPage({ lines: ['Still here'] }, { width: 600, height: 800 })]);
    ids.push(await submit(stalled.url, user, pdf, 'two.pdf', 'application/pdf'));
    await waitFor('every task to be taken in', async () => {
      const tasks = await Promise.all(ids.map((id) => getTask(stalled.url, user, id)));
      const takenIn = tasks.every((t) => t.status === 'queued' || t.status === 'processing');
      return takenIn && tasks.some((t) => t.status === 'processing') ? tasks : undefined;
    });

    // Act
    stalled.child.kill('SIGKILL');
    const killed = await stalled.exited;
    const restarted = await start('local/main.ts', dataDir);
    await allCompleted(restarted, user, ids);
    const stopped = await interrupt(restarted);
    const after = await inspect(dataDir, ids);

    // Assess
    expect(killed.signal).toBe('SIGKILL');
    expect(stopped.code).toBe(0);
    for (const id of ids) {
      expect(after.results.get(id)).toBe(1);
      expect(after.histories.get(id)!.filter((s) => s === 'completed')).toHaveLength(1);
      expect(after.histories.get(id)![after.histories.get(id)!.length - 1]).toBe('completed');
    }
  });

  it('lets pages in flight finish and be checkpointed on Ctrl-C, releases the task, exits 0, and completes it after a restart', async () => {
    // Prepare
    const dataDir = await freshDataDir('drain');
    dataDirs.push(dataDir);
    const first = await start('local/main.ts', dataDir);
    const user = await register(first.url, 'drain');
    const pages = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => scanPage({ lines: [`Page number ${n} of the long report`, 'Quarterly revenue grew again'] })));
    const id = await submit(first.url, user, await scannedPdf(pages), 'long.pdf', 'application/pdf');
    const seen = await waitFor('the first page to be checkpointed', async () => {
      const task = await getTask(first.url, user, id);
      // A machine fast enough to finish first still has to stop cleanly and keep one result.
      return (task.status === 'processing' && task.pagesDone >= 1) || task.status === 'completed' ? task : undefined;
    }, 240_000, 50);

    // Act
    const stopped = await interrupt(first);
    const atStop = await inspect(dataDir, [id]);
    const second = await start('local/main.ts', dataDir);
    await allCompleted(second, user, [id]);
    const stoppedAgain = await interrupt(second);
    const after = await inspect(dataDir, [id]);

    // Assess
    expect(stopped.code).toBe(0);
    const task = atStop.tasks.get(id)!;
    expect(task.pages_done).toBeGreaterThanOrEqual(seen.pagesDone);
    if (task.status !== 'completed') {
      // Stopped mid-document: the lease was handed back for the next start to claim at once.
      expect(task.status).toBe('processing');
      expect(task.lease_released).toBe(true);
      expect(first.output()).toContain('Released the task on shutdown');
    }
    expect(stoppedAgain.code).toBe(0);
    expect(after.results.get(id)).toBe(1);
    expect(after.histories.get(id)!.filter((s) => s === 'completed')).toHaveLength(1);
  });
});
