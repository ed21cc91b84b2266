import { DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createS3Client } from '../../../src/adapters/aws/s3-client';
import { S3ObjectStore } from '../../../src/adapters/aws/s3-object-store';
import type { Principal } from '../../../src/http/request';
import * as createRoute from '../../../lambdas/api/tasks/create';
import * as deleteRoute from '../../../lambdas/api/tasks/delete';
import * as getRoute from '../../../lambdas/api/tasks/get';
import * as listRoute from '../../../lambdas/api/tasks/list';
import * as resultRoute from '../../../lambdas/api/tasks/result';
import * as wsTicketRoute from '../../../lambdas/api/ws-ticket';
import { proxyEvent } from '../../lambdas/support/events';
import { completedTask, openTaskHarness, pdfBody, signedInUser, type TaskHarness } from './task-harness';

/**
 * The task routes through their Lambda entry files (the proxy adapter, the same path API Gateway
 * takes), over the AWS S3 adapter with a mocked client: presigning is a local computation, erasure
 * goes through ListObjectVersions and DeleteObjects.
 */
describe('the task handlers over the AWS S3 adapter', () => {
  const s3 = mockClient(S3Client);
  let h: TaskHarness;
  let alice: Principal;

  beforeAll(async () => {
    h = await openTaskHarness({});
    alice = await signedInUser(h, 'alice');
  });

  beforeEach(() => {
    s3.reset();
    h.deps.objectStore = new S3ObjectStore({
      client: createS3Client({ region: 'eu-central-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }),
      bucket: 'untxt-documents-123',
      clock: h.clock,
    });
  });

  afterAll(() => h.dispose());

  async function createdUpload(filename = 'Patient Jane Doe – MRI.pdf'): Promise<{ url: URL; headers: Record<string, string>; taskId: string }> {
    const handler = createRoute.withDeps(() => h.deps);
    const result = await handler(proxyEvent({ method: 'POST', path: '/v1/tasks', principal: alice, body: { ...pdfBody(4096), filename } }));
    expect(result.statusCode).toBe(201);
    const body = JSON.parse(result.body) as { task: { id: string }; upload: { url: string; headers: Record<string, string> } };
    return { url: new URL(body.upload.url), headers: body.upload.headers, taskId: body.task.id };
  }

  it('presigns a PUT that signs content-length, content-type and the SHA-256 checksum as headers', async () => {
    // Act
    const { url, headers } = await createdUpload();

    // Assess
    const signed = url.searchParams.get('X-Amz-SignedHeaders')!.split(';');
    expect(signed).toEqual(expect.arrayContaining(['content-length', 'content-type', 'x-amz-checksum-sha256', 'host']));
    expect(url.searchParams.has('x-amz-checksum-sha256')).toBe(false);
    expect(headers).toEqual({ 'Content-Type': 'application/pdf', 'x-amz-checksum-sha256': Buffer.from('ab'.repeat(32), 'hex').toString('base64') });
  });

  it('presigns for at most 300 seconds with no SDK-added checksum parameter', async () => {
    // Act
    const { url } = await createdUpload();

    // Assess
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    const names = [...url.searchParams.keys()].map((n) => n.toLowerCase());
    expect(names).not.toContain('x-amz-checksum-crc32');
    expect(names).not.toContain('x-amz-sdk-checksum-algorithm');
    expect(names.filter((n) => n.startsWith('x-amz-checksum'))).toEqual([]);
  });

  it('presigns a key under the caller\'s uploads prefix that holds no part of the file name', async () => {
    // Act
    const { url } = await createdUpload('Jane-Doe_scan.final.pdf');

    // Assess
    const key = decodeURIComponent(url.pathname).replace(/^\/(untxt-documents-123\/)?/, '');
    expect(key.startsWith(`uploads/${alice.userId}/`)).toBe(true);
    expect(key).toMatch(/^uploads\/[0-9a-f-]{36}\/\d{4}-\d{2}\/[0-9a-f-]{36}\/original\.pdf$/);
    for (const part of ['Jane', 'Doe', 'scan', 'final']) expect(key).not.toContain(part);
  });

  it('erases every listed version and delete marker of a deleted task through S3', async () => {
    // Prepare
    const { taskId, uploadKey } = await completedTask(h, alice.userId);
    s3.on(ListObjectVersionsCommand).callsFake((input: { Prefix: string }) => ({
      Versions: [{ Key: input.Prefix.endsWith('/') ? `${input.Prefix}x.html` : input.Prefix, VersionId: 'v1' }],
      DeleteMarkers: [{ Key: input.Prefix.endsWith('/') ? `${input.Prefix}x.html` : input.Prefix, VersionId: 'm1' }],
      IsTruncated: false,
    }));
    s3.on(DeleteObjectsCommand).resolves({ Errors: [] });
    const handler = deleteRoute.withDeps(() => h.deps);

    // Act
    const result = await handler(proxyEvent({ method: 'DELETE', path: `/v1/tasks/${taskId}`, principal: alice, pathParameters: { id: taskId } }));

    // Assess
    expect(result.statusCode).toBe(204);
    expect(s3).toHaveReceivedCommandWith(ListObjectVersionsCommand, { Bucket: 'untxt-documents-123', Prefix: uploadKey });
    expect(s3).toHaveReceivedCommandWith(DeleteObjectsCommand, {
      Bucket: 'untxt-documents-123',
      Delete: { Objects: [{ Key: uploadKey, VersionId: 'v1' }, { Key: uploadKey, VersionId: 'm1' }], Quiet: true },
    });
  });

  it('answers 503 erasure_pending as problem+json when S3 refuses the erasure', async () => {
    // Prepare
    const { taskId } = await completedTask(h, alice.userId);
    s3.on(ListObjectVersionsCommand).rejects(new Error('AccessDenied'));
    const handler = deleteRoute.withDeps(() => h.deps);

    // Act
    const result = await handler(proxyEvent({ method: 'DELETE', path: `/v1/tasks/${taskId}`, principal: alice, pathParameters: { id: taskId } }));

    // Assess
    expect(result.statusCode).toBe(503);
    expect(result.headers?.['content-type']).toBe('application/problem+json');
    expect(JSON.parse(result.body)).toMatchObject({ code: 'erasure_pending' });
    expect(result.body).not.toMatch(/AccessDenied|stack/);
  });

  it('answers every read route through its entry file with JSON and the security headers', async () => {
    // Prepare
    const { taskId } = await completedTask(h, alice.userId);
    const base = { principal: alice, method: 'GET' };

    // Act
    const list = await listRoute.withDeps(() => h.deps)(proxyEvent({ ...base, path: '/v1/tasks', query: { limit: '1' } }));
    const get = await getRoute.withDeps(() => h.deps)(proxyEvent({ ...base, path: `/v1/tasks/${taskId}`, pathParameters: { id: taskId } }));
    const html = await resultRoute.withDeps(() => h.deps)(proxyEvent({ ...base, path: `/v1/tasks/${taskId}/result`, pathParameters: { id: taskId } }));
    const ticket = await wsTicketRoute.withDeps(() => h.deps)(proxyEvent({ principal: alice, method: 'POST', path: '/v1/ws-ticket' }));

    // Assess
    for (const result of [list, get, html, ticket]) {
      expect(result.statusCode).toBe(200);
      expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    }
    const url = new URL((JSON.parse(html.body) as { url: string }).url);
    expect(url.hostname).toContain('untxt-documents-123');
    expect(url.searchParams.get('response-content-disposition')).toBe(`attachment; filename="${taskId}.html"`);
  });
});
