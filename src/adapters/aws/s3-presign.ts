import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Clock } from '../../ports/clock';
import type { PresignedGet, PresignedPut, PresignGetInput, PresignPutInput } from '../../ports/object-store';

/** SigV4 presigned URLs cannot live longer than a week. */
export const MAX_EXPIRES_IN_SECONDS = 7 * 24 * 3600;
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * Shared by the S3 adapter and the local object store, so that local URLs have exactly the shape
 * of AWS ones (the local store only swaps the client's endpoint and credentials).
 */
export async function presignPut(
  client: S3Client,
  bucket: string,
  input: PresignPutInput,
  clock: Clock,
): Promise<PresignedPut> {
  assertExpiry(input.expiresInSeconds);
  if (!Number.isSafeInteger(input.contentLength) || input.contentLength < 0) {
    throw new RangeError('contentLength must be a non-negative integer');
  }
  if (!SHA256_HEX.test(input.sha256Hex)) throw new RangeError('sha256Hex must be 64 hex digits');
  const checksum = sha256HexToBase64(input.sha256Hex);
  const signingDate = clock.now();
  const command = new PutObjectCommand({
    Bucket: bucket,
    Key: input.key,
    ContentType: input.contentType,
    ContentLength: input.contentLength,
    ChecksumSHA256: checksum,
  });
  const url = await getSignedUrl(client, command, {
    expiresIn: input.expiresInSeconds,
    signingDate,
    // Binds what the client declared: S3 refuses a body of another size, type or digest.
    // content-type is unsignable by default in the presigner, hence the explicit opt-in.
    signableHeaders: new Set(['content-type', 'content-length']),
    // Kept as a header (not hoisted into the query) so S3 verifies the body against it.
    unhoistableHeaders: new Set(['x-amz-checksum-sha256']),
  });
  return {
    url,
    method: 'PUT',
    headers: { 'Content-Type': input.contentType, 'x-amz-checksum-sha256': checksum },
    expiresAt: expiresAt(signingDate, input.expiresInSeconds),
  };
}

export async function presignGet(
  client: S3Client,
  bucket: string,
  input: PresignGetInput,
  clock: Clock,
): Promise<PresignedGet> {
  assertExpiry(input.expiresInSeconds);
  const signingDate = clock.now();
  const command = new GetObjectCommand({
    Bucket: bucket,
    Key: input.key,
    ResponseContentType: input.responseContentType,
    ResponseContentDisposition: input.responseContentDisposition,
  });
  const url = await getSignedUrl(client, command, { expiresIn: input.expiresInSeconds, signingDate });
  return { url, expiresAt: expiresAt(signingDate, input.expiresInSeconds) };
}

export function sha256HexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export function sha256Base64ToHex(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

function assertExpiry(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_EXPIRES_IN_SECONDS) {
    throw new RangeError(`expiresInSeconds must be an integer from 1 to ${MAX_EXPIRES_IN_SECONDS}`);
  }
}

/** X-Amz-Date has second precision, so the URL dies on the whole second after signing + expiry. */
function expiresAt(signingDate: Date, expiresInSeconds: number): Date {
  return new Date(Math.floor(signingDate.getTime() / 1000) * 1000 + expiresInSeconds * 1000);
}
