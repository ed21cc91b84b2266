import { createHash } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { S3ObjectStore } from '../../../src/adapters/aws/s3-object-store';
import { InvalidObjectKeyError, InvalidRangeError } from '../../../src/ports/object-store';

const s3 = mockClient(S3Client);
const BUCKET = 'untxt-documents';

function store(): S3ObjectStore {
  return new S3ObjectStore({ client: new S3Client({ region: 'us-east-1' }), bucket: BUCKET });
}

/** The one method of the SDK's streaming body the adapter uses. */
function streamOf(text: string): GetObjectCommandOutput['Body'] {
  return { transformToByteArray: async () => new Uint8Array(Buffer.from(text)) } as unknown as GetObjectCommandOutput['Body'];
}

describe('the S3 object store', () => {
  beforeEach(() => {
    s3.reset();
  });

  it('puts an object with its SHA-256, so S3 verifies and keeps it', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({ VersionId: 'v1' });

    // Act
    const result = await store().put({ key: 'results/a.json', body: '{"a":1}', contentType: 'application/json' });

    // Assess
    const digest = createHash('sha256').update('{"a":1}').digest();
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: 'results/a.json',
      ContentType: 'application/json',
      ChecksumSHA256: digest.toString('base64'),
    });
    expect(result).toEqual({ versionId: 'v1', size: 7, sha256Hex: digest.toString('hex') });
  });

  it('reads a byte range and reports the size of the whole object', async () => {
    // Prepare
    s3.on(GetObjectCommand).resolves({ Body: streamOf('%PDF'), ContentType: 'application/pdf', ContentRange: 'bytes 0-3/1000', VersionId: 'v1' });

    // Act
    const result = await store().get('uploads/a.pdf', { range: { start: 0, end: 3 } });

    // Assess
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: BUCKET, Key: 'uploads/a.pdf', Range: 'bytes=0-3' });
    expect(Buffer.from(result?.body ?? []).toString()).toBe('%PDF');
    expect(result).toMatchObject({ totalSize: 1000, contentType: 'application/pdf', versionId: 'v1' });
  });

  it('answers null for a missing object and InvalidRangeError for a range past its end', async () => {
    // Prepare
    s3.on(GetObjectCommand, { Key: 'missing' }).rejects(new NoSuchKey({ message: 'nope', $metadata: {} }));
    s3.on(GetObjectCommand, { Key: 'short' }).rejects(
      new S3ServiceException({ name: 'InvalidRange', $fault: 'client', $metadata: { httpStatusCode: 416 } }),
    );

    // Act
    const missing = await store().get('missing');
    const pastEnd = store().get('short', { range: { start: 10 } });

    // Assess
    expect(missing).toBeNull();
    await expect(pastEnd).rejects.toBeInstanceOf(InvalidRangeError);
  });

  it('tells a missing object answered 403 (listing limited by prefix) from one it may not read', async () => {
    // Prepare
    const denied = (): S3ServiceException =>
      new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });
    s3.on(GetObjectAttributesCommand).rejects(denied());
    s3.on(GetObjectCommand).rejects(denied());
    s3.on(ListObjectsV2Command, { Prefix: 'results/u/gone.json' }).resolves({ Contents: [{ Key: 'results/u/gone.json.bak' }] });
    s3.on(ListObjectsV2Command, { Prefix: 'results/u/there.json' }).resolves({ Contents: [{ Key: 'results/u/there.json' }] });

    // Act
    const gone = await store().getAttributes('results/u/gone.json');
    const goneBody = await store().get('results/u/gone.json');
    const there = store().getAttributes('results/u/there.json');

    // Assess
    expect(gone).toBeNull();
    expect(goneBody).toBeNull();
    await expect(there).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'results/u/gone.json', MaxKeys: 1 });
  });

  it('reports the stored SHA-256 as hex, and none for a multipart object', async () => {
    // Prepare
    const digest = createHash('sha256').update('x').digest();
    s3.on(GetObjectAttributesCommand, { Key: 'single' }).resolves({
      ObjectSize: 1,
      Checksum: { ChecksumSHA256: digest.toString('base64'), ChecksumType: 'FULL_OBJECT' },
      VersionId: 'v1',
      LastModified: new Date('2026-01-01T00:00:00Z'),
    });
    s3.on(GetObjectAttributesCommand, { Key: 'multipart' }).resolves({
      ObjectSize: 10,
      Checksum: { ChecksumSHA256: `${digest.toString('base64')}-2`, ChecksumType: 'COMPOSITE' },
    });

    // Act
    const single = await store().getAttributes('single');
    const multipart = await store().getAttributes('multipart');

    // Assess
    expect(s3).toHaveReceivedCommandWith(GetObjectAttributesCommand, { ObjectAttributes: ['ObjectSize', 'Checksum'] });
    expect(single).toEqual({ size: 1, sha256Hex: digest.toString('hex'), versionId: 'v1', lastModified: new Date('2026-01-01T00:00:00Z') });
    expect(multipart?.sha256Hex).toBeNull();
  });

  it('deletes every version and delete marker under a prefix, page by page', async () => {
    // Prepare
    s3.on(ListObjectVersionsCommand, { KeyMarker: undefined })
      .resolves({
        IsTruncated: true,
        NextKeyMarker: 'results/t1/b',
        NextVersionIdMarker: 'v2',
        Versions: [{ Key: 'results/t1/a', VersionId: 'v1' }, { Key: 'results/t1/b', VersionId: 'v2' }],
      })
      .on(ListObjectVersionsCommand, { KeyMarker: 'results/t1/b', VersionIdMarker: 'v2' })
      .resolves({ IsTruncated: false, Versions: [{ Key: 'results/t1/b', VersionId: 'v3' }], DeleteMarkers: [{ Key: 'results/t1/c', VersionId: 'd1' }] });
    s3.on(DeleteObjectsCommand).resolves({});

    // Act
    const result = await store().deleteAllVersions({ prefix: 'results/t1/' });

    // Assess
    expect(result).toEqual({ deleted: 4 });
    expect(s3).toHaveReceivedCommandTimes(DeleteObjectsCommand, 2);
    expect(s3).toHaveReceivedNthSpecificCommandWith(2, DeleteObjectsCommand, {
      Bucket: BUCKET,
      Delete: { Objects: [{ Key: 'results/t1/b', VersionId: 'v3' }, { Key: 'results/t1/c', VersionId: 'd1' }], Quiet: true },
    });
  });

  it('deletes only the exact key when given a key, not the keys it prefixes', async () => {
    // Prepare
    s3.on(ListObjectVersionsCommand).resolves({
      IsTruncated: false,
      Versions: [{ Key: 'uploads/u/f/original.pdf', VersionId: 'v1' }, { Key: 'uploads/u/f/original.pdfx', VersionId: 'v2' }],
    });
    s3.on(DeleteObjectsCommand).resolves({});

    // Act
    const result = await store().deleteAllVersions({ key: 'uploads/u/f/original.pdf' });

    // Assess
    expect(result).toEqual({ deleted: 1 });
    expect(s3).toHaveReceivedCommandWith(DeleteObjectsCommand, { Delete: { Objects: [{ Key: 'uploads/u/f/original.pdf', VersionId: 'v1' }], Quiet: true } });
  });

  it.each([
    ['an empty prefix', { prefix: '' }],
    ['the whole results area', { prefix: 'results/' }],
    ['a prefix outside uploads and results', { prefix: 'logs/' }],
    ['a key outside uploads and results', { key: 'a/b' }],
  ])('refuses to erase %s without calling S3', async (_name, target) => {
    // Prepare
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false, Versions: [{ Key: 'uploads/u/f/original.pdf', VersionId: 'v1' }] });
    s3.on(DeleteObjectsCommand).resolves({});

    // Act
    const attempt = store().deleteAllVersions(target);

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(InvalidObjectKeyError);
    expect(s3).toHaveReceivedCommandTimes(ListObjectVersionsCommand, 0);
    expect(s3).toHaveReceivedCommandTimes(DeleteObjectsCommand, 0);
  });

  it('fails when S3 could not delete some versions, without naming the keys', async () => {
    // Prepare
    s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false, Versions: [{ Key: 'uploads/u/f/original.pdf', VersionId: 'v1' }] });
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'uploads/u/f/original.pdf', VersionId: 'v1', Code: 'AccessDenied' }] });

    // Act
    const deleting = store().deleteAllVersions({ prefix: 'uploads/u/f/' });

    // Assess
    await expect(deleting).rejects.toThrow(/AccessDenied/);
    await expect(store().deleteAllVersions({ prefix: 'uploads/u/f/' })).rejects.not.toThrow(/original\.pdf/);
  });
});
