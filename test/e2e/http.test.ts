/**
 * The local service end to end over raw HTTP and a WebSocket client, as any other client would
 * use it: status events in order by the seq rule, every result format, bad inputs ending in clear
 * errors (at create, at the upload, or as a failed task with its code), and users kept apart.
 * The pipeline runs with a two-page limit so `too_many_pages` is cheap to reach.
 */
import { isNewerStatus, taskStatusMessageSchema, type TaskStatusMessage } from '../../src/realtime/messages';
import { recovery, scannedPdf, scanPage, wordsOf } from '../pipeline/support/documents';
import {
  createTask,
  getAuthorized,
  getTask,
  openWs,
  register,
  resultRows,
  settled,
  sha256,
  startE2eService,
  submit,
  type CreatedTask,
  type E2eService,
  type User,
} from './support/e2e';

const PAGES = [['Quarterly report for the northern region', 'Revenue grew by twelve percent'], ['The team shipped four new products', 'Customers praised the delivery']];

jest.setTimeout(300_000);

describe('the local service over HTTP and WebSocket', () => {
  let e2e: E2eService;
  let base: string;
  let alice: User;
  let bob: User;
  let pdf: Uint8Array;
  let aliceTaskId: string;

  beforeAll(async () => {
    e2e = await startE2eService('http', { maxPages: 2 });
    base = e2e.service.url;
    [alice, bob] = await Promise.all([register(base, 'alice'), register(base, 'bob')]);
    pdf = await scannedPdf(await Promise.all(PAGES.map((lines) => scanPage({ lines }))));
  });

  afterAll(async () => {
    await e2e?.stop();
  });

  it('sends the owner queued, processing (pagesDone only rising) and completed over the WebSocket, in order by the seq rule', async () => {
    // Prepare
    const ws = await openWs(base, alice);

    // Act
    aliceTaskId = await submit(base, alice, pdf, 'report.pdf', 'application/pdf');
    await ws.next((m) => (m as TaskStatusMessage).taskId === aliceTaskId && ['completed', 'failed'].includes((m as TaskStatusMessage).status));
    ws.close();
    const final = await getTask(base, alice, aliceTaskId);

    // Assess
    expect(final).toMatchObject({ status: 'completed', errorCode: null });
    const received = ws.messages.filter((m) => (m as TaskStatusMessage).taskId === aliceTaskId);
    for (const m of received) expect(taskStatusMessageSchema.safeParse(m).success).toBe(true);
    const applied: TaskStatusMessage[] = [];
    for (const m of received as TaskStatusMessage[]) if (isNewerStatus(applied[applied.length - 1], m)) applied.push(m);
    const statuses = applied.map((m) => m.status).filter((s, i, all) => i === 0 || all[i - 1] !== s);
    expect(statuses).toEqual(['queued', 'processing', 'completed']);
    const seqs = applied.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const progress = applied.filter((m) => m.status === 'processing').map((m) => m.pagesDone);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(applied[applied.length - 1]).toMatchObject({ status: 'completed', pagesDone: 2, pageCount: 2 });
  });

  it('serves the completed result as html (presigned, one section per page), text and json, with exactly one result row', async () => {
    // Act
    const htmlLink = await getAuthorized(`${base}/v1/tasks/${aliceTaskId}/result?format=html`, alice.token);
    const { url } = (await htmlLink.json()) as { url: string };
    const html = await (await fetch(url)).text();
    const text = await getAuthorized(`${base}/v1/tasks/${aliceTaskId}/result?format=text`, alice.token);
    const json = await getAuthorized(`${base}/v1/tasks/${aliceTaskId}/result?format=json`, alice.token);

    // Assess
    expect(htmlLink.status).toBe(200);
    expect(html.match(/<section data-page="\d+">/g)).toEqual(['<section data-page="1">', '<section data-page="2">']);
    expect(text.status).toBe(200);
    expect(recovery(wordsOf(PAGES.flat()), await text.text())).toBeGreaterThanOrEqual(0.95);
    expect(json.status).toBe(200);
    expect((await json.json()) as object).toMatchObject({ pageCount: 2, pages: [{ page: 1 }, { page: 2 }] });
    expect((await resultRows(e2e.service.database, [aliceTaskId])).get(aliceTaskId)).toBe(1);
  });

  it('refuses an upload whose size differs from the declared size, and the task keeps waiting for its upload', async () => {
    // Prepare
    const page = await scanPage({ lines: ['Size check'] }, { width: 600, height: 120 });
    const created = (await (await createTask(base, alice, page, { filename: 'a.png', contentType: 'image/png', size: page.byteLength + 1 })).json()) as CreatedTask;

    // Act
    const put = await fetch(created.upload.url, { method: 'PUT', headers: created.upload.headers, body: page });

    // Assess
    expect(put.status).toBeGreaterThanOrEqual(400);
    expect(put.status).toBeLessThan(500);
    expect(await put.text()).toMatch(/<Code>\w+<\/Code>/);
    expect((await getTask(base, alice, created.task.id)).status).toBe('awaiting_upload');
  });

  it('refuses an upload whose bytes differ from the declared SHA-256', async () => {
    // Prepare
    const page = await scanPage({ lines: ['Checksum check'] }, { width: 600, height: 120 });
    const other = Buffer.from(page);
    other[other.length - 1] ^= 0xff;
    const created = (await (await createTask(base, alice, page, { filename: 'b.png', contentType: 'image/png', sha256: sha256(other) })).json()) as CreatedTask;

    // Act
    const put = await fetch(created.upload.url, { method: 'PUT', headers: created.upload.headers, body: page });

    // Assess
    expect(put.status).toBe(400);
    expect(await put.text()).toMatch(/<Code>(BadDigest|XAmzContentSHA256Mismatch|InvalidRequest)<\/Code>/);
    expect((await getTask(base, alice, created.task.id)).status).toBe('awaiting_upload');
  });

  it.each([
    ['an unsupported type', { filename: 'scan.gif', contentType: 'image/gif' }, 'contentType'],
    ['zero bytes', { filename: 'empty.png', contentType: 'image/png', size: 0 }, 'size'],
    ['a type its extension does not match', { filename: 'scan.png', contentType: 'application/pdf' }, 'filename'],
  ])('refuses %s at create with 400 validation_failed naming the field', async (_case, declared, field) => {
    // Act
    const response = await createTask(base, alice, Buffer.from('GIF89a'), declared);

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await response.json()) as { code: string; errors: Array<{ field: string }> };
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((e) => e.field)).toContain(field);
  });

  it('fails a corrupt PDF with corrupt_document and a document over the page limit with too_many_pages', async () => {
    // Prepare
    const corrupt = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage without pages\n');
    const long = await scannedPdf(await Promise.all([1, 2, 3].map((n) => scanPage({ lines: [`Page ${n}`] }, { width: 600, height: 800 }))));

    // Act
    const [corruptId, longId] = await Promise.all([
      submit(base, alice, corrupt, 'corrupt.pdf', 'application/pdf'),
      submit(base, alice, long, 'long.pdf', 'application/pdf'),
    ]);
    const [corruptTask, longTask] = await Promise.all([settled(base, alice, corruptId), settled(base, alice, longId)]);
    const notReady = await getAuthorized(`${base}/v1/tasks/${corruptId}/result?format=text`, alice.token);

    // Assess
    expect(corruptTask).toMatchObject({ status: 'failed', errorCode: 'corrupt_document' });
    expect(corruptTask.errorMessage).toEqual(expect.any(String));
    expect(longTask).toMatchObject({ status: 'failed', errorCode: 'too_many_pages' });
    expect(notReady.status).toBe(409);
  });

  it("answers 404 to another user for the task, its result and its deletion, and leaves it out of their list", async () => {
    // Act
    const [task, result, deletion, list] = await Promise.all([
      getAuthorized(`${base}/v1/tasks/${aliceTaskId}`, bob.token),
      getAuthorized(`${base}/v1/tasks/${aliceTaskId}/result?format=text`, bob.token),
      fetch(`${base}/v1/tasks/${aliceTaskId}`, { method: 'DELETE', headers: { authorization: `Bearer ${bob.token}` } }),
      getAuthorized(`${base}/v1/tasks`, bob.token),
    ]);

    // Assess
    expect([task.status, result.status, deletion.status]).toEqual([404, 404, 404]);
    expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
    expect((await getTask(base, alice, aliceTaskId)).status).toBe('completed');
  });
});
