/**
 * Load, kept modest for CI: 50 one-page uploads from 5 users at once through real HTTP and the
 * Tesseract pipeline. All complete, none is lost or duplicated (one task, one result row and one
 * pass through the states each), and every result holds its own page's text. Speed is measured
 * by `npm run bench` (bench/load.ts), not asserted here.
 */
import { scanPage } from '../pipeline/support/documents';
import { getAuthorized, historyOf, register, resultRows, startE2eService, submit, waitFor, type E2eService, type User } from './support/e2e';

const USERS = 5;
const TASKS_PER_USER = 10;

jest.setTimeout(600_000);

describe('the local service under load', () => {
  let e2e: E2eService;

  beforeAll(async () => {
    e2e = await startE2eService('load');
  });
  afterAll(async () => {
    await e2e?.stop();
  });

  it('completes 50 concurrent uploads from 5 users, each exactly once with its own text', async () => {
    // Prepare
    const base = e2e.service.url;
    const users = await Promise.all(Array.from({ length: USERS }, (_, u) => register(base, `load${u}`)));
    const jobs = users.flatMap((user, u) => Array.from({ length: TASKS_PER_USER }, (_, t) => ({ user, marker: `${u}${t}`.padStart(3, '7') })));
    const pages = await Promise.all(jobs.map((job) => scanPage({ lines: [`Load test document number ${job.marker}`] }, { width: 1100, height: 260 })));

    // Act
    const ids = await Promise.all(jobs.map((job, i) => submit(base, job.user, pages[i]!, `doc-${job.marker}.png`, 'image/png')));
    await waitFor('all 50 tasks to finish', async () => {
      const lists = await Promise.all(users.map((user) => listed(base, user)));
      return lists.every((items) => items.length === TASKS_PER_USER && items.every((t) => t.status === 'completed' || t.status === 'failed')) ? true : undefined;
    }, 540_000, 500);
    const lists = await Promise.all(users.map((user) => listed(base, user)));
    const texts = await Promise.all(ids.map(async (id, i) => (await getAuthorized(`${base}/v1/tasks/${id}/result?format=text`, jobs[i]!.user.token)).text()));
    const results = await resultRows(e2e.service.database, ids);
    const histories = await Promise.all(ids.map((id) => historyOf(e2e.service.database, id)));
    const { rows } = await e2e.service.database.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM tasks t JOIN users u ON u.id = t.owner_id WHERE u.email LIKE 'load%@example.com'",
    );

    // Assess
    expect(new Set(ids).size).toBe(USERS * TASKS_PER_USER);
    expect(rows[0]!.n).toBe(USERS * TASKS_PER_USER);
    lists.forEach((items, u) => {
      expect(items.map((t) => t.status)).toEqual(Array(TASKS_PER_USER).fill('completed'));
      expect(new Set(items.map((t) => t.id))).toEqual(new Set(ids.filter((_, i) => jobs[i]!.user === users[u])));
    });
    for (const id of ids) expect(results.get(id)).toBe(1);
    for (const history of histories) expect(history).toEqual(['awaiting_upload', 'queued', 'processing', 'completed']);
    texts.forEach((text, i) => expect(text).toContain(jobs[i]!.marker));
  });
});

async function listed(base: string, user: User): Promise<Array<{ id: string; status: string }>> {
  const response = await getAuthorized(`${base}/v1/tasks?limit=100`, user.token);
  return ((await response.json()) as { items: Array<{ id: string; status: string }> }).items;
}
