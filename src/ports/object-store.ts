/**
 * Object storage as the domain sees it: one bucket, addressed by key. Keys carry ids only, never
 * file names (see DESIGN.md "Storage"), so adapters may treat them as opaque.
 */
import { isWithinErasableArea } from '../domain/storage-keys';

export interface PutObjectInput {
  key: string;
  body: Uint8Array | string;
  contentType: string;
}

export interface PutObjectOutput {
  versionId: string | null;
  size: number;
  sha256Hex: string;
}

/** Inclusive byte range, as in an HTTP `Range: bytes=start-end` header. */
export interface ByteRange {
  start: number;
  /** Inclusive; omitted means "to the end". Clamped to the last byte, as S3 does. */
  end?: number;
}

export interface GetObjectOutput {
  body: Uint8Array;
  contentType: string | null;
  /** Size of the whole object, not of the range that was read. */
  totalSize: number;
  versionId: string | null;
}

export interface ObjectAttributes {
  size: number;
  /** The SHA-256 stored with the object (hex); null when it was stored without one. */
  sha256Hex: string | null;
  versionId: string | null;
  lastModified: Date;
}

export type DeleteTarget = { key: string } | { prefix: string };

export interface PresignPutInput {
  key: string;
  contentType: string;
  contentLength: number;
  /** Hex, as the API receives it; adapters convert to S3's base64. */
  sha256Hex: string;
  expiresInSeconds: number;
}

export interface PresignedPut {
  url: string;
  method: 'PUT';
  /** Exactly the headers the client must send (the HTTP client sets Content-Length itself). */
  headers: { 'Content-Type': string; 'x-amz-checksum-sha256': string };
  expiresAt: Date;
}

export interface PresignGetInput {
  key: string;
  expiresInSeconds: number;
  responseContentType?: string;
  responseContentDisposition?: string;
}

export interface PresignedGet {
  url: string;
  expiresAt: Date;
}

export interface ObjectStore {
  put(input: PutObjectInput): Promise<PutObjectOutput>;
  /** Null when the key has no current version. Throws InvalidRangeError when the range starts past the end. */
  get(key: string, options?: { range?: ByteRange }): Promise<GetObjectOutput | null>;
  getAttributes(key: string): Promise<ObjectAttributes | null>;
  /**
   * Removes every version and delete marker (erasure, not a soft delete). Returns how many were
   * removed. Throws InvalidObjectKeyError for a target outside `uploads/{id}/` or `results/{id}/`
   * (assertErasableTarget), an empty prefix above all.
   */
  deleteAllVersions(target: DeleteTarget): Promise<{ deleted: number }>;
  presignPut(input: PresignPutInput): Promise<PresignedPut>;
  presignGet(input: PresignGetInput): Promise<PresignedGet>;
}

export class InvalidRangeError extends Error {
  constructor(message = 'The requested range is not satisfiable') {
    super(message);
    this.name = 'InvalidRangeError';
  }
}

export class InvalidObjectKeyError extends Error {
  constructor(reason: string) {
    super(`Invalid object key: ${reason}`);
    this.name = 'InvalidObjectKeyError';
  }
}

/**
 * The one rule every adapter applies before `deleteAllVersions`: the target must be non-empty and
 * under `uploads/{id}/` or `results/{id}/`. An empty prefix would erase the whole bucket.
 */
export function assertErasableTarget(target: DeleteTarget): void {
  const value = 'key' in target ? target.key : target.prefix;
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidObjectKeyError('key' in target ? 'empty' : 'empty prefix');
  }
  if (!isWithinErasableArea(value)) throw new InvalidObjectKeyError('not under uploads/{id}/ or results/{id}/');
}
