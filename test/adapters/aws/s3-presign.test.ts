import { createHash } from 'node:crypto';
import { createS3Client } from '../../../src/adapters/aws/s3-client';
import { S3ObjectStore } from '../../../src/adapters/aws/s3-object-store';
import { ManualClock } from '../../../src/adapters/clock';

const BODY = Buffer.from('%PDF-1.7 test');
const SHA256_HEX = createHash('sha256').update(BODY).digest('hex');

function storeAt(clock: ManualClock): S3ObjectStore {
  const client = createS3Client({
    region: 'eu-central-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  });
  return new S3ObjectStore({ client, bucket: 'untxt-documents-123', clock });
}

describe('presigned S3 URLs', () => {
  it('sign the declared type, size and SHA-256 of an upload, and carry no SDK-added checksum', async () => {
    // Prepare
    const clock = new ManualClock(new Date('2026-03-01T12:00:00.400Z'));

    // Act
    const upload = await storeAt(clock).presignPut({
      key: 'uploads/u1/2026-03/f1/original.pdf',
      contentType: 'application/pdf',
      contentLength: BODY.byteLength,
      sha256Hex: SHA256_HEX,
      expiresInSeconds: 300,
    });

    // Assess
    const url = new URL(upload.url);
    expect(url.hostname).toBe('untxt-documents-123.s3.eu-central-1.amazonaws.com');
    expect(url.pathname).toBe('/uploads/u1/2026-03/f1/original.pdf');
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';')).toEqual([
      'content-length',
      'content-type',
      'host',
      'x-amz-checksum-sha256',
    ]);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    const queryNames = [...url.searchParams.keys()].map((name) => name.toLowerCase());
    expect(queryNames.filter((name) => name.startsWith('x-amz-checksum') || name === 'x-amz-sdk-checksum-algorithm')).toEqual([]);
    expect(upload.method).toBe('PUT');
    expect(upload.headers).toEqual({
      'Content-Type': 'application/pdf',
      'x-amz-checksum-sha256': createHash('sha256').update(BODY).digest('base64'),
    });
    expect(upload.expiresAt.toISOString()).toBe('2026-03-01T12:05:00.000Z');
  });

  it('sign a download with the response headers asked for', async () => {
    // Prepare
    const clock = new ManualClock(new Date('2026-03-01T12:00:00Z'));

    // Act
    const download = await storeAt(clock).presignGet({
      key: 'results/u1/2026-03/t1/t1_20260301_120000.html',
      expiresInSeconds: 60,
      responseContentType: 'text/html; charset=utf-8',
      responseContentDisposition: 'attachment; filename="t1.html"',
    });

    // Assess
    const url = new URL(download.url);
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    expect(url.searchParams.get('response-content-type')).toBe('text/html; charset=utf-8');
    expect(url.searchParams.get('response-content-disposition')).toBe('attachment; filename="t1.html"');
    expect(download.expiresAt.toISOString()).toBe('2026-03-01T12:01:00.000Z');
  });

  it('refuse a checksum that is not 64 hex digits and an expiry beyond a week', async () => {
    // Prepare
    const store = storeAt(new ManualClock());
    const input = { key: 'uploads/x', contentType: 'application/pdf', contentLength: 1, sha256Hex: SHA256_HEX, expiresInSeconds: 300 };

    // Act + Assess
    await expect(store.presignPut({ ...input, sha256Hex: 'abc' })).rejects.toThrow(RangeError);
    await expect(store.presignPut({ ...input, expiresInSeconds: 8 * 24 * 3600 })).rejects.toThrow(RangeError);
  });
});
