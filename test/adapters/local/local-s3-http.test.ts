import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createS3Client } from '../../../src/adapters/aws/s3-client';
import { presignPut } from '../../../src/adapters/aws/s3-presign';
import { ManualClock } from '../../../src/adapters/clock';
import { loadOrCreateLocalCredentials, type LocalCredentials } from '../../../src/adapters/local/local-credentials';
import { LOCAL_REGION, LocalObjectStore, type ObjectCreatedEvent } from '../../../src/adapters/local/local-object-store';
import { createLocalS3Handler } from '../../../src/adapters/local/s3-http-handler';
import { PresignedUrlVerifier } from '../../../src/adapters/local/sigv4-verifier';
import { InvalidObjectKeyError } from '../../../src/ports/object-store';

const BUCKET = 'untxt-documents';
const MOUNT = '/s3';
const PDF = Buffer.from('%PDF-1.7\nhello, presigned world\n%%EOF\n');

function sha256Hex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function s3Code(xml: string): string | undefined {
  return /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];
}

describe('the local object store over HTTP', () => {
  let dir: string;
  let server: Server;
  let endpoint: string;
  let credentials: LocalCredentials;
  let clock: ManualClock;
  let store: LocalObjectStore;
  let created: ObjectCreatedEvent[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'untxt-s3-http-'));
    credentials = await loadOrCreateLocalCredentials(join(dir, 'objects'));
    clock = new ManualClock(new Date());
    created = [];
    store = new LocalObjectStore({
      rootDir: join(dir, 'objects'),
      bucket: BUCKET,
      credentials,
      endpoint: () => endpoint,
      clock,
      onObjectCreated: (event) => {
        created.push(event);
      },
    });
    await store.init();
    const handler = createLocalS3Handler({
      mountPath: MOUNT,
      stores: [store],
      verifier: new PresignedUrlVerifier(credentials, LOCAL_REGION),
      maxObjectBytes: 1024 * 1024,
      clock,
    });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}${MOUNT}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  async function presignUpload(key = 'uploads/u1/2026-01/f1/original.pdf', body = PDF, contentType = 'application/pdf') {
    return store.presignPut({ key, contentType, contentLength: body.byteLength, sha256Hex: sha256Hex(body), expiresInSeconds: 300 });
  }

  async function upload(url: string, headers: Record<string, string>, body: Buffer = PDF) {
    const response = await fetch(url, { method: 'PUT', headers, body });
    return { status: response.status, text: await response.text(), headers: response.headers };
  }

  it('stores a correctly presigned PUT, which then reads back with its checksum', async () => {
    // Prepare
    const key = 'uploads/u1/2026-01/f1/original.pdf';
    const presigned = await presignUpload(key);

    // Act
    const response = await upload(presigned.url, presigned.headers);

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"${createHash('md5').update(PDF).digest('hex')}"`);
    const attributes = await store.getAttributes(key);
    expect(attributes).toMatchObject({ size: PDF.byteLength, sha256Hex: sha256Hex(PDF) });
    expect(attributes?.versionId).toBe(response.headers.get('x-amz-version-id'));
    const stored = await store.get(key);
    expect(Buffer.from(stored?.body ?? [])).toEqual(PDF);
    expect(stored?.contentType).toBe('application/pdf');
  });

  it('announces a stored upload to the object-created hook', async () => {
    // Prepare
    const key = 'uploads/u1/2026-01/f2/original.pdf';
    const presigned = await presignUpload(key);

    // Act
    await upload(presigned.url, presigned.headers);
    await new Promise((resolve) => setImmediate(resolve));

    // Assess
    expect(created).toEqual([
      { bucket: BUCKET, key, size: PDF.byteLength, sha256: sha256Hex(PDF), versionId: expect.any(String) },
    ]);
  });

  it('refuses a PUT whose signature was tampered with, and stores nothing', async () => {
    // Prepare
    const presigned = await presignUpload();
    const url = new URL(presigned.url);
    const signature = url.searchParams.get('X-Amz-Signature') ?? '';
    url.searchParams.set('X-Amz-Signature', `${signature.startsWith('0') ? '1' : '0'}${signature.slice(1)}`);

    // Act
    const response = await upload(url.toString(), presigned.headers);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('SignatureDoesNotMatch');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
    expect(created).toEqual([]);
  });

  it('refuses a PUT to another key than the one signed, and stores under neither', async () => {
    // Prepare
    const presigned = await presignUpload('uploads/u1/2026-01/f1/original.pdf');
    const url = presigned.url.replace('/f1/', '/f9/');

    // Act
    const response = await upload(url, presigned.headers);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('SignatureDoesNotMatch');
    expect(await store.getAttributes('uploads/u1/2026-01/f9/original.pdf')).toBeNull();
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
  });

  it('refuses other bytes sent with their own, unsigned, checksum header', async () => {
    // Prepare
    const presigned = await presignUpload();
    const other = Buffer.from(PDF.toString().replace('hello', 'HELLO'));

    // Act
    const response = await upload(
      presigned.url,
      { ...presigned.headers, 'x-amz-checksum-sha256': createHash('sha256').update(other).digest('base64') },
      other,
    );

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('SignatureDoesNotMatch');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
  });

  it('refuses a PUT without the signed checksum header', async () => {
    // Prepare
    const presigned = await presignUpload();

    // Act
    const response = await upload(presigned.url, { 'Content-Type': presigned.headers['Content-Type'] });

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('SignatureDoesNotMatch');
  });

  it('refuses an expired URL with AccessDenied', async () => {
    // Prepare
    const presigned = await presignUpload();
    clock.advance(301_000);

    // Act
    const response = await upload(presigned.url, presigned.headers);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('AccessDenied');
    expect(response.text).toContain('Request has expired');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
  });

  it('refuses a body of another size than the one signed', async () => {
    // Prepare
    const presigned = await presignUpload();
    const longer = Buffer.concat([PDF, Buffer.from('extra')]);

    // Act
    const response = await upload(presigned.url, presigned.headers, longer);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('SignatureDoesNotMatch');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
  });

  it('refuses a content type other than the one signed', async () => {
    // Prepare
    const presigned = await presignUpload();

    // Act
    const response = await upload(presigned.url, { ...presigned.headers, 'Content-Type': 'text/html' });

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('SignatureDoesNotMatch');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
  });

  it('refuses bytes whose SHA-256 differs from the signed one with BadDigest, and stores nothing', async () => {
    // Prepare
    const presigned = await presignUpload();
    const sameSizeOtherBytes = Buffer.from(PDF.toString().replace('hello', 'HELLO'));

    // Act
    const response = await upload(presigned.url, presigned.headers, sameSizeOtherBytes);

    // Assess
    expect(response.status).toBe(400);
    expect(s3Code(response.text)).toBe('BadDigest');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
    expect(await readdir(join(dir, 'objects', 'tmp', BUCKET))).toEqual([]);
  });

  it('refuses a URL signed with a key pair it does not know', async () => {
    // Prepare
    const foreign = createS3Client({
      endpoint,
      forcePathStyle: true,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'LOCALSOMEONEELSE0000', secretAccessKey: 'not-the-local-secret-not-the-local-secret' },
    });
    const presigned = await presignPut(
      foreign,
      BUCKET,
      { key: 'uploads/x', contentType: 'application/pdf', contentLength: PDF.byteLength, sha256Hex: sha256Hex(PDF), expiresInSeconds: 60 },
      clock,
    );

    // Act
    const response = await upload(presigned.url, presigned.headers);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('InvalidAccessKeyId');
  });

  it('refuses a URL carrying a checksum it would not verify, such as the CRC32 an SDK adds by default', async () => {
    // Prepare
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const { getSignedUrl } = await import('@aws-sdk/s3-request-presigner');
    const defaultClient = new S3Client({ endpoint, forcePathStyle: true, region: LOCAL_REGION, credentials });
    const url = await getSignedUrl(defaultClient, new PutObjectCommand({ Bucket: BUCKET, Key: 'uploads/crc', ContentType: 'text/plain' }), {
      expiresIn: 60,
    });

    // Act
    const response = await upload(url, { 'Content-Type': 'text/plain' }, Buffer.from('hello'));

    // Assess
    expect(url).toMatch(/x-amz-checksum-crc32=/i);
    expect(response.status).toBe(400);
    expect(s3Code(response.text)).toBe('InvalidRequest');
    expect(await store.getAttributes('uploads/crc')).toBeNull();
  });

  it('serves a presigned GET with the signed response headers, and byte ranges of it', async () => {
    // Prepare
    const key = 'results/u1/2026-01/t1/t1_20260101_000000.html';
    const html = Buffer.from('<html><body><section data-page="1">hi</section></body></html>');
    await store.put({ key, body: html, contentType: 'text/html' });
    const presigned = await store.presignGet({
      key,
      expiresInSeconds: 60,
      responseContentType: 'text/html; charset=utf-8',
      responseContentDisposition: 'attachment; filename="result.html"',
    });

    // Act
    const whole = await fetch(presigned.url);
    const part = await fetch(presigned.url, { headers: { Range: 'bytes=6-11' } });

    // Assess
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer())).toEqual(html);
    expect(whole.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(whole.headers.get('content-disposition')).toBe('attachment; filename="result.html"');
    expect(part.status).toBe(206);
    expect(await part.text()).toBe('<body>');
    expect(part.headers.get('content-range')).toBe(`bytes 6-11/${html.byteLength}`);
  });

  it('refuses a tampered presigned GET, and a PUT URL used to GET', async () => {
    // Prepare
    const key = 'results/u1/2026-01/t1/t1.txt';
    await store.put({ key, body: 'secret text', contentType: 'text/plain' });
    const get = await store.presignGet({ key, expiresInSeconds: 60, responseContentDisposition: 'inline' });
    const tampered = get.url.replace('response-content-disposition=inline', 'response-content-disposition=attachment');
    const put = await presignUpload(key, Buffer.from('secret text'), 'text/plain');

    // Act
    const tamperedResponse = await fetch(tampered);
    const wrongMethodResponse = await fetch(put.url);

    // Assess
    expect(tamperedResponse.status).toBe(403);
    expect(s3Code(await tamperedResponse.text())).toBe('SignatureDoesNotMatch');
    expect(wrongMethodResponse.status).toBe(403);
    expect(s3Code(await wrongMethodResponse.text())).toBe('SignatureDoesNotMatch');
  });

  it('answers NoSuchKey for a validly signed GET of a missing object', async () => {
    // Prepare
    const presigned = await store.presignGet({ key: 'results/none', expiresInSeconds: 60 });

    // Act
    const response = await fetch(presigned.url);

    // Assess
    expect(response.status).toBe(404);
    expect(s3Code(await response.text())).toBe('NoSuchKey');
  });

  it('refuses a valid PUT URL replayed with another Host header, and stores nothing', async () => {
    // Prepare
    const presigned = await presignUpload();
    const url = new URL(presigned.url);

    // Act
    const response = await rawRequest(url.port, 'PUT', `${url.pathname}${url.search}`, {
      ...presigned.headers,
      'Content-Length': String(PDF.byteLength),
      Host: `untxt-documents.s3.amazonaws.com`,
    }, PDF);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.body)).toBe('SignatureDoesNotMatch');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
  });

  it.each([
    ['an SSE-C key', { 'x-amz-server-side-encryption-customer-algorithm': 'AES256' }],
    ['a KMS key id', { 'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:111122223333:key/x' }],
    ['an unsigned checksum', { 'x-amz-checksum-crc32': 'AAAAAA==' }],
  ])('refuses a valid PUT URL sent with %s it did not sign, with AccessDenied', async (_name, extra) => {
    // Prepare
    const presigned = await presignUpload();

    // Act
    const response = await upload(presigned.url, { ...presigned.headers, ...extra });

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('AccessDenied');
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).toBeNull();
  });

  it('refuses a URL signed more than 15 minutes in the future, as S3 does', async () => {
    // Prepare: signed with a clock 20 minutes ahead of the store's
    const client = createS3Client({ endpoint, forcePathStyle: true, region: LOCAL_REGION, credentials });
    const ahead = new ManualClock(new Date(clock.now().getTime() + 20 * 60_000));
    const presigned = await presignPut(
      client,
      BUCKET,
      { key: 'uploads/u1/2026-01/f1/original.pdf', contentType: 'application/pdf', contentLength: PDF.byteLength, sha256Hex: sha256Hex(PDF), expiresInSeconds: 3600 },
      ahead,
    );

    // Act
    const response = await upload(presigned.url, presigned.headers);

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(response.text)).toBe('AccessDenied');
    expect(response.text).toContain('not valid yet');
  });

  it.each([
    ['a repeated name', (names: string) => `${names};host`],
    ['an upper-case name', (names: string) => names.replace('host', 'Host')],
    ['names out of order', (names: string) => names.split(';').reverse().join(';')],
  ])('refuses X-Amz-SignedHeaders with %s as a malformed query', async (_name, edit) => {
    // Prepare
    const presigned = await presignUpload();
    const url = new URL(presigned.url);
    url.searchParams.set('X-Amz-SignedHeaders', edit(url.searchParams.get('X-Amz-SignedHeaders') ?? ''));

    // Act
    const response = await upload(url.toString(), presigned.headers);

    // Assess
    expect(response.status).toBe(400);
    expect(s3Code(response.text)).toBe('AuthorizationQueryParametersError');
  });

  it('accepts a presigned PUT sent in absolute form, as the router does', async () => {
    // Prepare
    const presigned = await presignUpload();
    const url = new URL(presigned.url);

    // Act
    const response = await rawRequest(url.port, 'PUT', presigned.url, { ...presigned.headers, 'Content-Length': String(PDF.byteLength) }, PDF);

    // Assess
    expect(response.status).toBe(200);
    expect(await store.getAttributes('uploads/u1/2026-01/f1/original.pdf')).not.toBeNull();
  });

  it('answers NoSuchKey for a GET of an object deleted after it was looked up', async () => {
    // Prepare: the object is erased between the lookup and the read
    const key = 'results/u1/2026-01/t1/t1.txt';
    await store.put({ key, body: 'secret text', contentType: 'text/plain' });
    const presigned = await store.presignGet({ key, expiresInSeconds: 60 });
    const lookUp = store.findVersion.bind(store);
    jest.spyOn(store, 'findVersion').mockImplementation(async (...args) => {
      const found = await lookUp(...args);
      await store.deleteAllVersions({ key });
      return found;
    });

    // Act
    const response = await fetch(presigned.url);

    // Assess
    expect(response.status).toBe(404);
    expect(s3Code(await response.text())).toBe('NoSuchKey');
  });

  it('refuses requests that are not presigned', async () => {
    // Act
    const response = await fetch(`${endpoint}/${BUCKET}/uploads/x`, { method: 'PUT', body: 'x' });

    // Assess
    expect(response.status).toBe(403);
    expect(s3Code(await response.text())).toBe('AccessDenied');
  });

  it('refuses a path-traversal key even when it is validly signed, and writes nothing outside the store', async () => {
    // Prepare: sign with the shared presigner directly, as the store itself would refuse to.
    const client = createS3Client({ endpoint, forcePathStyle: true, region: LOCAL_REGION, credentials });
    const key = '../../escape.pdf';
    const presigned = await presignPut(
      client,
      BUCKET,
      { key, contentType: 'application/pdf', contentLength: PDF.byteLength, sha256Hex: sha256Hex(PDF), expiresInSeconds: 60 },
      clock,
    );
    // Not through new URL(), which would resolve the dot segments away before they are sent.
    const rawPath = presigned.url.replace(/^http:\/\/[^/]+/, '');
    const port = new URL(endpoint).port;

    // Act
    const response = await rawRequest(port, 'PUT', rawPath, { ...presigned.headers, 'Content-Length': String(PDF.byteLength) }, PDF);

    // Assess
    expect(rawPath).toContain('..');
    expect(response.status).toBe(400);
    expect(s3Code(response.body)).toBe('InvalidArgument');
    await expect(stat(join(dir, 'escape.pdf'))).rejects.toThrow();
    await expect(stat(join(dir, 'objects', 'escape.pdf'))).rejects.toThrow();
    await expect(store.presignPut({ key, contentType: 'application/pdf', contentLength: 1, sha256Hex: sha256Hex(PDF), expiresInSeconds: 60 })).rejects.toBeInstanceOf(
      InvalidObjectKeyError,
    );
  });
});

function rawRequest(
  port: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
