import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateLocalCredentials } from '../../../src/adapters/local/local-credentials';
import { LocalObjectStore } from '../../../src/adapters/local/local-object-store';
import { InvalidObjectKeyError, InvalidRangeError } from '../../../src/ports/object-store';

describe('the local object store on disk', () => {
  let dir: string;
  let store: LocalObjectStore;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'untxt-store-'));
    store = new LocalObjectStore({
      rootDir: join(dir, 'objects'),
      bucket: 'untxt-documents',
      credentials: await loadOrCreateLocalCredentials(join(dir, 'objects')),
      endpoint: () => 'http://127.0.0.1:9/s3',
    });
    await store.init();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads back what it stored, whole or by byte range, with its SHA-256', async () => {
    // Prepare
    const body = 'abcdefghijklmnopqrstuvwxyz';
    const put = await store.put({ key: 'results/u/2026-01/t/t.txt', body, contentType: 'text/plain' });

    // Act
    const whole = await store.get('results/u/2026-01/t/t.txt');
    const range = await store.get('results/u/2026-01/t/t.txt', { range: { start: 2, end: 4 } });
    const tail = await store.get('results/u/2026-01/t/t.txt', { range: { start: 20, end: 999 } });
    const attributes = await store.getAttributes('results/u/2026-01/t/t.txt');

    // Assess
    expect(Buffer.from(whole?.body ?? []).toString()).toBe(body);
    expect(Buffer.from(range?.body ?? []).toString()).toBe('cde');
    expect(range?.totalSize).toBe(26);
    expect(Buffer.from(tail?.body ?? []).toString()).toBe('uvwxyz');
    expect(put.sha256Hex).toBe(createHash('sha256').update(body).digest('hex'));
    expect(attributes).toMatchObject({ size: 26, sha256Hex: put.sha256Hex, versionId: put.versionId });
  });

  it('keeps its temp files when a store of another bucket under the same root starts', async () => {
    // Prepare: a temp file this store is still writing
    const pending = join(dir, 'objects', 'tmp', 'untxt-documents', 'in-flight');
    await writeFile(pending, 'partial upload');
    const other = new LocalObjectStore({
      rootDir: join(dir, 'objects'),
      bucket: 'untxt-other',
      credentials: await loadOrCreateLocalCredentials(join(dir, 'objects')),
      endpoint: () => 'http://127.0.0.1:9/s3',
    });

    // Act
    await other.init();

    // Assess
    expect(await readFile(pending, 'utf8')).toBe('partial upload');
  });

  it('answers null for a missing key and refuses a range past the end', async () => {
    // Prepare
    await store.put({ key: 'a/b', body: 'xyz', contentType: 'text/plain' });

    // Act
    const missing = await store.get('a/c');
    const pastEnd = store.get('a/b', { range: { start: 3 } });

    // Assess
    expect(missing).toBeNull();
    expect(await store.getAttributes('a/c')).toBeNull();
    await expect(pastEnd).rejects.toBeInstanceOf(InvalidRangeError);
  });

  it('keeps every version of an overwritten key, the latest being current', async () => {
    // Prepare
    const first = await store.put({ key: 'a/b', body: 'one', contentType: 'text/plain' });

    // Act
    const second = await store.put({ key: 'a/b', body: 'two', contentType: 'text/plain' });

    // Assess
    expect(second.versionId).not.toBe(first.versionId);
    expect(Buffer.from((await store.get('a/b'))?.body ?? []).toString()).toBe('two');
    expect((await store.findVersion('a/b', first.versionId ?? ''))?.version.size).toBe(3);
  });

  it('deletes every version under a key, and only that key', async () => {
    // Prepare
    await store.put({ key: 'uploads/u/f/original.pdf', body: 'one', contentType: 'text/plain' });
    await store.put({ key: 'uploads/u/f/original.pdf', body: 'two', contentType: 'text/plain' });
    await store.put({ key: 'uploads/u/f/original.pdfx', body: 'other', contentType: 'text/plain' });

    // Act
    const result = await store.deleteAllVersions({ key: 'uploads/u/f/original.pdf' });

    // Assess
    expect(result).toEqual({ deleted: 2 });
    expect(await store.get('uploads/u/f/original.pdf')).toBeNull();
    expect(await store.get('uploads/u/f/original.pdfx')).not.toBeNull();
  });

  it('deletes every version under a prefix and leaves no bytes of them on disk', async () => {
    // Prepare
    await store.put({ key: 'results/u/2026-01/t1/t1.html', body: '<p>1</p>', contentType: 'text/html' });
    await store.put({ key: 'results/u/2026-01/t1/t1.html', body: '<p>2</p>', contentType: 'text/html' });
    await store.put({ key: 'results/u/2026-01/t1/pages/1.json', body: '{}', contentType: 'application/json' });
    await store.put({ key: 'results/u/2026-01/t2/t2.html', body: '<p>keep</p>', contentType: 'text/html' });

    // Act
    const result = await store.deleteAllVersions({ prefix: 'results/u/2026-01/t1/' });

    // Assess
    expect(result).toEqual({ deleted: 3 });
    expect(await store.get('results/u/2026-01/t1/t1.html')).toBeNull();
    expect(await store.get('results/u/2026-01/t1/pages/1.json')).toBeNull();
    expect(await store.get('results/u/2026-01/t2/t2.html')).not.toBeNull();
    const bucketDir = join(dir, 'objects', 'buckets', 'untxt-documents');
    expect(await readdir(bucketDir)).toHaveLength(1);
    expect(await readdir(join(dir, 'objects', 'tmp', 'untxt-documents'))).toEqual([]);
  });

  it.each([
    ['an empty prefix', { prefix: '' }],
    ['the whole uploads area', { prefix: 'uploads/' }],
    ['a prefix outside uploads and results', { prefix: 'a/' }],
    ['a parent segment as the id', { prefix: 'results/../' }],
    ['a key outside uploads and results', { key: 'a/b' }],
  ])('refuses to erase %s, leaving every object in place', async (_name, target) => {
    // Prepare
    await store.put({ key: 'a/b', body: 'keep', contentType: 'text/plain' });
    await store.put({ key: 'uploads/u/f/original.pdf', body: 'keep', contentType: 'application/pdf' });

    // Act
    const attempt = store.deleteAllVersions(target);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(InvalidObjectKeyError);
    expect(await store.get('a/b')).not.toBeNull();
    expect(await store.get('uploads/u/f/original.pdf')).not.toBeNull();
  });

  it.each([
    ['a parent segment', '../escape'],
    ['a parent segment in the middle', 'a/../../escape'],
    ['a current-folder segment', 'a/./b'],
    ['a leading slash', '/absolute'],
    ['a backslash', 'a\\b'],
    ['a NUL byte', 'nul\u0000byte'],
    ['nothing', ''],
    ['more than 1024 bytes', 'x'.repeat(1025)],
  ])(
    'refuses a key with %s',
    async (_case, key) => {
      // Act
      const put = store.put({ key, body: 'x', contentType: 'text/plain' });

      // Assess
      await expect(put).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(store.get(key)).rejects.toBeInstanceOf(InvalidObjectKeyError);
    },
  );

  it('serialises concurrent writes to one key without losing a version', async () => {
    // Act
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.put({ key: 'a/b', body: `v${i}`, contentType: 'text/plain' })));

    // Assess
    const meta = JSON.parse(
      await readFile(join(dir, 'objects', 'buckets', 'untxt-documents', createHash('sha256').update('a/b').digest('hex'), 'meta.json'), 'utf8'),
    ) as { versions: unknown[] };
    expect(meta.versions).toHaveLength(10);
  });
});

describe('the local object store credentials', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'untxt-creds-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are generated once, kept readable by their owner only, and reused', async () => {
    // Act
    const first = await loadOrCreateLocalCredentials(dir);
    const second = await loadOrCreateLocalCredentials(dir);

    // Assess
    expect(second).toEqual(first);
    expect(first.accessKeyId).not.toMatch(/^AKIA/);
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
  });

  it('tighten a credentials file whose permissions were loosened', async () => {
    // Prepare
    await loadOrCreateLocalCredentials(dir);
    await chmod(join(dir, 'credentials.json'), 0o644);

    // Act
    await loadOrCreateLocalCredentials(dir);

    // Assess
    expect((await stat(join(dir, 'credentials.json'))).mode & 0o777).toBe(0o600);
  });

  it('refuse a malformed credentials file instead of signing with it', async () => {
    // Prepare
    await writeFile(join(dir, 'credentials.json'), '{"accessKeyId":"x"}', { mode: 0o600 });

    // Act
    const loading = loadOrCreateLocalCredentials(dir);

    // Assess
    await expect(loading).rejects.toThrow(/malformed/);
  });
});
