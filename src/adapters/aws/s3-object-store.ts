import { createHash } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type ObjectIdentifier,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Clock } from '../../ports/clock';
import {
  InvalidRangeError,
  assertErasableTarget,
  type ByteRange,
  type DeleteTarget,
  type GetObjectOutput,
  type ObjectAttributes,
  type ObjectStore,
  type PresignedGet,
  type PresignedPut,
  type PresignGetInput,
  type PresignPutInput,
  type PutObjectInput,
  type PutObjectOutput,
} from '../../ports/object-store';
import { assertValidRange } from '../byte-range';
import { systemClock } from '../clock';
import { presignGet, presignPut, sha256Base64ToHex } from './s3-presign';

export interface S3ObjectStoreOptions {
  /** Build it with createS3Client so presigned URLs carry no SDK-added checksum. */
  client: S3Client;
  bucket: string;
  clock?: Clock;
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly clock: Clock;

  constructor(options: S3ObjectStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.clock = options.clock ?? systemClock;
  }

  async put(input: PutObjectInput): Promise<PutObjectOutput> {
    const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
    const digest = createHash('sha256').update(body).digest();
    const output = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: input.key,
        Body: body,
        ContentType: input.contentType,
        // Stored with the object, so GetObjectAttributes can report it later.
        ChecksumSHA256: digest.toString('base64'),
      }),
    );
    return { versionId: output.VersionId ?? null, size: body.byteLength, sha256Hex: digest.toString('hex') };
  }

  async get(key: string, options: { range?: ByteRange } = {}): Promise<GetObjectOutput | null> {
    try {
      const output = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: options.range && rangeHeader(options.range) }),
      );
      const body = output.Body ? await output.Body.transformToByteArray() : new Uint8Array();
      return {
        body,
        contentType: output.ContentType ?? null,
        totalSize: totalSizeOf(output.ContentRange) ?? output.ContentLength ?? body.byteLength,
        versionId: output.VersionId ?? null,
      };
    } catch (error) {
      if (await this.isMissing(key, error)) return null;
      if (errorName(error) === 'InvalidRange') throw new InvalidRangeError();
      throw error;
    }
  }

  async getAttributes(key: string): Promise<ObjectAttributes | null> {
    try {
      const output = await this.client.send(
        new GetObjectAttributesCommand({
          Bucket: this.bucket,
          Key: key,
          ObjectAttributes: ['ObjectSize', 'Checksum'],
        }),
      );
      const checksum = output.Checksum;
      // A multipart object's checksum is a checksum of part checksums: not the file's SHA-256.
      const wholeObject = checksum?.ChecksumType !== 'COMPOSITE';
      return {
        size: output.ObjectSize ?? 0,
        sha256Hex: checksum?.ChecksumSHA256 && wholeObject ? sha256Base64ToHex(checksum.ChecksumSHA256) : null,
        versionId: output.VersionId ?? null,
        lastModified: output.LastModified ?? new Date(0),
      };
    } catch (error) {
      if (await this.isMissing(key, error)) return null;
      throw error;
    }
  }

  /**
   * S3 answers 404 for a missing object only to a caller allowed to list the bucket for that
   * request; our roles may list only their own area (`s3:prefix`), which a GET does not carry, so
   * a missing object can come back as 403. A listing of exactly that key (which the prefix
   * condition allows) tells the two apart; a 403 for an object that exists stays an error.
   */
  private async isMissing(key: string, error: unknown): Promise<boolean> {
    if (isNotFound(error)) return true;
    if (!isAccessDenied(error)) return false;
    try {
      const listing = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }),
      );
      return !(listing.Contents ?? []).some((object) => object.Key === key);
    } catch {
      return false;
    }
  }

  async deleteAllVersions(target: DeleteTarget): Promise<{ deleted: number }> {
    assertErasableTarget(target);
    const prefix = 'key' in target ? target.key : target.prefix;
    // ListObjectVersions matches by prefix, so `a/b` would also list `a/bc`: filter exact keys.
    const wanted = 'key' in target ? (key: string) => key === target.key : () => true;
    let deleted = 0;
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
        }),
      );
      const identifiers: ObjectIdentifier[] = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((entry): entry is { Key: string; VersionId?: string } => entry.Key !== undefined && wanted(entry.Key))
        .map((entry) => ({ Key: entry.Key, VersionId: entry.VersionId }));
      deleted += await this.deleteBatch(identifiers);
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker !== undefined);
    return { deleted };
  }

  presignPut(input: PresignPutInput): Promise<PresignedPut> {
    return presignPut(this.client, this.bucket, input, this.clock);
  }

  presignGet(input: PresignGetInput): Promise<PresignedGet> {
    return presignGet(this.client, this.bucket, input, this.clock);
  }

  /** A list page holds at most 1,000 entries, which is also DeleteObjects' limit. */
  private async deleteBatch(objects: ObjectIdentifier[]): Promise<number> {
    if (objects.length === 0) return 0;
    const output = await this.client.send(
      new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: objects, Quiet: true } }),
    );
    const errors = output.Errors ?? [];
    if (errors.length > 0) {
      // Codes only: keys stay out of messages that may end up in logs.
      const codes = [...new Set(errors.map((e) => e.Code ?? 'Unknown'))].join(', ');
      throw new Error(`DeleteObjects failed for ${errors.length} of ${objects.length} versions (${codes})`);
    }
    return objects.length;
  }
}

function rangeHeader(range: ByteRange): string {
  assertValidRange(range);
  return `bytes=${range.start}-${range.end ?? ''}`;
}

/** `bytes 0-99/1234` → 1234. */
function totalSizeOf(contentRange: string | undefined): number | undefined {
  const match = contentRange && /\/(\d+)$/.exec(contentRange);
  return match ? Number(match[1]) : undefined;
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function isAccessDenied(error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return errorName(error) === 'AccessDenied' || status === 403;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  if (name === 'NoSuchKey' || name === 'NotFound') return true;
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return status === 404 && name !== 'NoSuchBucket';
}
