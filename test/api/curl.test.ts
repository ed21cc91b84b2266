import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { startService, type RunningService } from './tasks/local-service';

const run = promisify(execFile);

// jest.config.js leaves this file out where there is no curl (and says so), except under CI=true.
function findCurl(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'curl'))) return join(dir, 'curl');
  }
  throw new Error('no curl on PATH');
}

const curlPath = findCurl();

/** curl's answer: status and body (`-w` appends the status on a line of its own). */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run(curlPath, ['-sS', '-w', '\n%{http_code}', ...args]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
}

const jsonArgs = (body: unknown) => ['-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body)];

describe('the local service driven by curl alone', () => {
  let running: RunningService;
  let dir: string;
  let file: string;
  let token: string;
  let created: { task: { id: string }; upload: { url: string; method: string; headers: Record<string, string> } };
  const bytes = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(2000, 'x'), Buffer.from('\n%%EOF\n')]);

  const headerArgs = () => Object.entries(created.upload.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);

  beforeAll(async () => {
    running = await startService();
    dir = mkdtempSync(join(tmpdir(), 'untxt-curl-'));
    file = join(dir, 'scan.pdf');
    writeFileSync(file, bytes);
  });

  afterAll(async () => {
    await running.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers, logs in and creates a task', async () => {
    // Prepare
    const api = running.service.apiUrl;
    const credentials = { email: 'curl@example.com', password: 'curl correct horse battery' };

    // Act
    const registered = await curl(['-X', 'POST', ...jsonArgs(credentials), `${api}/auth/register`]);
    const login = await curl(['-X', 'POST', ...jsonArgs(credentials), `${api}/auth/login`]);
    token = (JSON.parse(login.body) as { accessToken: string }).accessToken;
    const task = await curl([
      '-X', 'POST', '-H', `Authorization: Bearer ${token}`,
      ...jsonArgs({ filename: 'scan.pdf', contentType: 'application/pdf', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }),
      `${api}/tasks`,
    ]);

    // Assess
    expect(registered.status).toBe(201);
    expect(login.status).toBe(200);
    expect(task.status).toBe(201);
    created = JSON.parse(task.body) as typeof created;
    expect(created.upload.method).toBe('PUT');
  });

  it('has a tampered URL refused by the local store', async () => {
    // Prepare
    const url = new URL(created.upload.url);
    url.pathname = url.pathname.replace('original.pdf', 'other.pdf');

    // Act
    const response = await curl(['-X', 'PUT', ...headerArgs(), '--data-binary', `@${file}`, url.toString()]);

    // Assess
    expect(response.status).toBe(403);
    expect(response.body).toContain('SignatureDoesNotMatch');
  });

  it('has a body of another size refused by the local store', async () => {
    // Prepare
    const shorter = join(dir, 'shorter.pdf');
    writeFileSync(shorter, bytes.subarray(0, bytes.length - 1));

    // Act
    const response = await curl(['-X', 'PUT', ...headerArgs(), '--data-binary', `@${shorter}`, created.upload.url]);

    // Assess
    expect(response.status).toBe(403);
    expect(await running.service.objectStore.getAttributes(new URL(created.upload.url).pathname.replace(/^\/s3\/[^/]+\//, ''))).toBeNull();
  });

  it('has a body with another checksum refused by the local store', async () => {
    // Prepare
    const altered = join(dir, 'altered.pdf');
    writeFileSync(altered, Buffer.from(bytes).fill('y', 10, 11));

    // Act
    const response = await curl(['-X', 'PUT', ...headerArgs(), '--data-binary', `@${altered}`, created.upload.url]);

    // Assess
    expect(response.status).toBe(400);
    expect(response.body).toContain('BadDigest');
  });

  it('PUTs the file to the presigned URL with the returned headers and sees it stored', async () => {
    // Act
    const response = await curl(['-X', 'PUT', ...headerArgs(), '--data-binary', `@${file}`, created.upload.url]);
    const task = await curl(['-H', `Authorization: Bearer ${token}`, `${running.service.apiUrl}/tasks/${created.task.id}`]);

    // Assess
    expect(response.status).toBe(200);
    const key = decodeURIComponent(new URL(created.upload.url).pathname).replace(/^\/s3\/[^/]+\//, '');
    expect(await running.service.objectStore.getAttributes(key)).toMatchObject({
      size: bytes.length,
      sha256Hex: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(task.status).toBe(200);
    expect(JSON.parse(task.body)).toMatchObject({ task: { id: created.task.id, filename: 'scan.pdf' } });
  });
});
