/**
 * The real `untxt` command (a child process running the package's bin) against the local
 * service with its Tesseract pipeline: register, log in, OCR a 3-page scanned PDF and a PNG with
 * known text in each format, list, read, delete, log out, with the documented exit codes.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recovery, scannedPdf, scanPage, wordsOf } from '../pipeline/support/documents';
import { resultRows, runCli, startE2eService, type CliRun, type E2eService } from './support/e2e';

const PDF_PAGES = [
  ['Quarterly report for the northern region', 'Revenue grew by twelve percent this year'],
  ['The team shipped four new products', 'Customers praised the faster delivery'],
  ['Patient intake summary for the clinic', 'Follow-up appointment scheduled next month'],
];
const PNG_LINES = ['Invoice number 4711 for garden tools', 'Payment due within thirty days'];

jest.setTimeout(300_000);

describe('the untxt CLI end to end', () => {
  let e2e: E2eService;
  let work: string;
  let env: Record<string, string>;
  let pdfPath: string;
  let pngPath: string;
  const password = 'ada correct horse battery staple';
  const cli = (args: string[], stdin?: string): Promise<CliRun> => runCli([...args, '--endpoint', e2e.service.url], env, stdin);

  beforeAll(async () => {
    e2e = await startE2eService('cli');
    work = mkdtempSync(join(tmpdir(), 'untxt-cli-e2e-'));
    env = { XDG_CONFIG_HOME: join(work, 'config'), HOME: work };
    pdfPath = join(work, 'report.pdf');
    pngPath = join(work, 'invoice.png');
    writeFileSync(pdfPath, await scannedPdf(await Promise.all(PDF_PAGES.map((lines) => scanPage({ lines })))));
    writeFileSync(pngPath, await scanPage({ lines: PNG_LINES }, { width: 1240, height: 400 }));
  });

  afterAll(async () => {
    await e2e?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('registers and logs in with the password on stdin, storing tokens 0600 per endpoint', async () => {
    // Act
    const registered = await cli(['register', '--email', 'ada@example.com', '--password-stdin'], `${password}\n`);
    const loggedIn = await cli(['login', '--email', 'ada@example.com', '--password-stdin', '--json'], `${password}\n`);
    const wrong = await cli(['login', '--email', 'ada@example.com', '--password-stdin'], 'not the password\n');

    // Assess
    expect(registered).toMatchObject({ code: 0, stdout: `Registered and logged in to ${e2e.service.url} as ada@example.com\n` });
    expect(loggedIn.code).toBe(0);
    expect(JSON.parse(loggedIn.stdout)).toEqual({ endpoint: e2e.service.url, email: 'ada@example.com', loggedIn: true });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^untxt: invalid_credentials: /);
    const file = join(work, 'config', 'untxt', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { endpoints: object }).endpoints)).toEqual([e2e.service.url]);
  });

  it('OCRs a 3-page PDF and a PNG as text into the output folder, recovering at least 95% of the words', async () => {
    // Act
    const run = await cli(['ocr', pdfPath, pngPath, '--format', 'text', '--out', join(work, 'text')]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${pdfPath} → ${join(work, 'text', 'report.txt')}`);
    // Not a terminal: one plain progress line per change, ending in completed.
    expect(run.stderr).toContain('report.pdf: completed');
    expect(run.stderr).toContain('invoice.png: completed');
    expect(recovery(wordsOf(PDF_PAGES.flat()), readFileSync(join(work, 'text', 'report.txt'), 'utf8'))).toBeGreaterThanOrEqual(0.95);
    expect(recovery(wordsOf(PNG_LINES), readFileSync(join(work, 'text', 'invoice.txt'), 'utf8'))).toBeGreaterThanOrEqual(0.95);
  });

  it('OCRs into html (one section per page) and json (pages, blocks, words), reporting each file under --json', async () => {
    // Act
    const html = await cli(['ocr', pdfPath, '--format', 'html', '--out', join(work, 'html')]);
    const json = await cli(['ocr', pngPath, '--format', 'json', '--out', join(work, 'json'), '--json']);

    // Assess
    expect(html.code).toBe(0);
    const document = readFileSync(join(work, 'html', 'report.html'), 'utf8');
    expect(document.match(/<section data-page="\d+">/g)).toHaveLength(3);
    expect(recovery(wordsOf(PDF_PAGES.flat()), document.replace(/<[^>]+>/g, ' '))).toBeGreaterThanOrEqual(0.95);
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout) as { files: Array<{ file: string; taskId: string; status: string; pageCount: number; output: string }> };
    expect(summary.files).toEqual([
      expect.objectContaining({ file: pngPath, status: 'completed', pageCount: 1, output: join(work, 'json', 'invoice.json') }),
    ]);
    const result = JSON.parse(readFileSync(join(work, 'json', 'invoice.json'), 'utf8')) as { pages: Array<{ blocks: Array<{ words?: Array<{ text: string }> }> }> };
    const words = result.pages.flatMap((p) => p.blocks.flatMap((b) => (b.words ?? []).map((w) => w.text)));
    expect(recovery(wordsOf(PNG_LINES), words.join(' '))).toBeGreaterThanOrEqual(0.95);
    expect((await resultRows(e2e.service.database, [summary.files[0]!.taskId])).get(summary.files[0]!.taskId)).toBe(1);
  });

  it('ends with exit code 4 and the error code when a task fails, saving nothing for it', async () => {
    // Prepare
    const corrupt = join(work, 'broken.pdf');
    writeFileSync(corrupt, Buffer.from('%PDF-1.7\nthis is not really a PDF at all\n'));

    // Act
    const run = await cli(['ocr', corrupt, '--format', 'text', '--out', join(work, 'broken')]);

    // Assess
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/broken\.pdf: failed corrupt_document: /);
  });

  it('lists tasks, prints a result, deletes a task (then 3 for it), and needs a login again after logout', async () => {
    // Prepare
    const listed = await cli(['tasks', '--status', 'completed', '--json']);
    const items = (JSON.parse(listed.stdout) as { items: Array<{ id: string; filename: string; status: string }> }).items;
    const invoice = items.find((t) => t.filename === 'invoice.png')!;

    // Act
    const table = await cli(['tasks', '--limit', '2']);
    const text = await cli(['result', invoice.id, '--format', 'text']);
    const saved = await cli(['result', invoice.id, '--format', 'html', '--out', work]);
    const deleted = await cli(['delete', invoice.id]);
    const again = await cli(['delete', invoice.id]);
    const gone = await cli(['result', invoice.id]);
    const loggedOut = await cli(['logout']);
    const afterLogout = await cli(['tasks']);

    // Assess
    expect(listed.code).toBe(0);
    expect(items.length).toBeGreaterThanOrEqual(3);
    expect(items.every((t) => t.status === 'completed')).toBe(true);
    expect(table.code).toBe(0);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
    expect(text.code).toBe(0);
    expect(recovery(wordsOf(PNG_LINES), text.stdout)).toBeGreaterThanOrEqual(0.95);
    expect(saved).toMatchObject({ code: 0, stdout: `${join(work, `${invoice.id}.html`)}\n` });
    expect(readFileSync(join(work, `${invoice.id}.html`), 'utf8')).toContain('<section data-page="1">');
    expect(deleted).toMatchObject({ code: 0, stdout: `deleted ${invoice.id}\n` });
    expect(again).toMatchObject({ code: 3, stderr: 'untxt: not_found: No such resource.\n' });
    expect(gone.code).toBe(3);
    expect(loggedOut).toMatchObject({ code: 0, stdout: `Logged out of ${e2e.service.url}\n` });
    expect(afterLogout.code).toBe(2);
    expect(afterLogout.stderr).toContain('not logged in');
  });
});
