import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
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
import { createS3Client } from '../aws/s3-client';
import { presignGet, presignPut } from '../aws/s3-presign';
import { assertValidRange } from '../byte-range';
import { systemClock } from '../clock';
import { errorSummary } from '../error-summary';
import type { LocalCredentials } from './local-credentials';
import { assertValidBucketName, assertValidObjectKey } from './object-key';

/** What S3 would put into an ObjectCreated notification, and all intake needs from it. */
export interface ObjectCreatedEvent {
  bucket: string;
  key: string;
  size: number;
  sha256: string;
  versionId: string;
}

export interface LocalObjectStoreOptions {
  /** Folder for all buckets' objects (e.g. `<dataDir>/objects`). */
  rootDir: string;
  bucket: string;
  credentials: LocalCredentials;
  /** Base URL the store is served at (path-style), read when presigning: the port is known only once the server listens. */
  endpoint: () => string;
  clock?: Clock;
  /** Called after each object is stored, like an S3 event notification: asynchronously, and a failure does not undo the write. */
  onObjectCreated?: (event: ObjectCreatedEvent) => void | Promise<void>;
  logger?: Logger;
}

export const LOCAL_REGION = 'us-east-1';

const versionSchema = z.object({
  versionId: z.string(),
  size: z.number().int().nonnegative(),
  sha256Hex: z.string().regex(/^[0-9a-f]{64}$/),
  md5Hex: z.string().regex(/^[0-9a-f]{32}$/),
  contentType: z.string().nullable(),
  lastModified: z.iso.datetime(),
});
const metaSchema = z.object({ key: z.string(), versions: z.array(versionSchema) });

export type StoredVersion = z.infer<typeof versionSchema>;
type ObjectMeta = z.infer<typeof metaSchema>;

/** Why a streamed write was refused, named after S3's error codes. */
export class ObjectWriteError extends Error {
  constructor(readonly code: 'BadDigest' | 'IncompleteBody' | 'EntityTooLarge') {
    super(code);
    this.name = 'ObjectWriteError';
  }
}

export interface StreamWriteLimits {
  /** Refuse (and stop reading) once more bytes than this arrive. */
  maxBytes: number;
  /** When set, fewer or more bytes than this are refused. */
  expectedSize?: number;
  /** When set (base64, as in x-amz-checksum-sha256), a body with another digest is refused. */
  expectedSha256Base64?: string;
}

/**
 * One versioned bucket on disk. Layout: `<root>/buckets/<bucket>/<sha256(key)>/` holds `meta.json`
 * (the key and its versions, newest last) and one file per version. File names come from a hash,
 * never from the key, so no key can reach outside the folder, and keys of any shape (`a/b` and
 * `a/b/c`) coexist. Every file is written to `<root>/tmp/<bucket>` and renamed into place, so a
 * crash leaves either the old state or the new one. The temp folder is the bucket's own: init()
 * clears it, and must not clear files another bucket's store is writing under the same root.
 * One store instance per bucket and root (the per-object locks live in the instance).
 */
export class LocalObjectStore implements ObjectStore {
  readonly bucket: string;
  private readonly bucketDir: string;
  private readonly tmpDir: string;
  private readonly clock: Clock;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly pendingNotifications = new Set<Promise<void>>();
  private presignClient: { endpoint: string; client: S3Client } | undefined;

  constructor(private readonly options: LocalObjectStoreOptions) {
    assertValidBucketName(options.bucket);
    this.bucket = options.bucket;
    this.bucketDir = join(options.rootDir, 'buckets', options.bucket);
    this.tmpDir = join(options.rootDir, 'tmp', options.bucket);
    this.clock = options.clock ?? systemClock;
  }

  /** Creates the folders and clears temp files a crash of this bucket's store may have left. */
  async init(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
    await mkdir(this.bucketDir, { recursive: true, mode: 0o700 });
  }

  async put(input: PutObjectInput): Promise<PutObjectOutput> {
    assertValidObjectKey(input.key);
    const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : Buffer.from(input.body);
    const tmpPath = this.tmpPath();
    await writeFileSynced(tmpPath, body);
    const version = await this.commit(input.key, tmpPath, {
      size: body.byteLength,
      sha256Hex: createHash('sha256').update(body).digest('hex'),
      md5Hex: createHash('md5').update(body).digest('hex'),
      contentType: input.contentType,
    });
    return { versionId: version.versionId, size: version.size, sha256Hex: version.sha256Hex };
  }

  /**
   * Streams a body to disk while hashing it, so an upload is never held in memory; refuses it (and
   * stores nothing) when it breaks a limit. Used by the HTTP side for presigned PUTs.
   */
  async putStream(key: string, contentType: string | null, body: Readable, limits: StreamWriteLimits): Promise<StoredVersion> {
    assertValidObjectKey(key);
    const tmpPath = this.tmpPath();
    const sha256 = createHash('sha256');
    const md5 = createHash('md5');
    let size = 0;
    const cap = Math.min(limits.maxBytes, limits.expectedSize ?? Number.POSITIVE_INFINITY);
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.byteLength;
        if (size > cap) {
          callback(new ObjectWriteError(size > limits.maxBytes ? 'EntityTooLarge' : 'IncompleteBody'));
          return;
        }
        sha256.update(chunk);
        md5.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmpPath, { flags: 'wx', mode: 0o600, flush: true }));
      if (limits.expectedSize !== undefined && size !== limits.expectedSize) throw new ObjectWriteError('IncompleteBody');
      const digest = sha256.digest();
      if (limits.expectedSha256Base64 !== undefined && digest.toString('base64') !== limits.expectedSha256Base64) {
        throw new ObjectWriteError('BadDigest');
      }
      return await this.commit(key, tmpPath, {
        size,
        sha256Hex: digest.toString('hex'),
        md5Hex: md5.digest('hex'),
        contentType,
      });
    } catch (error) {
      await rm(tmpPath, { force: true });
      // The client went away mid-body: what S3 calls an incomplete body, not a failure of ours.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET') throw new ObjectWriteError('IncompleteBody');
      throw error;
    }
  }

  async get(key: string, options: { range?: ByteRange } = {}): Promise<GetObjectOutput | null> {
    const found = await this.findVersion(key);
    if (!found) return null;
    const { version, path } = found;
    const { start, end } = options.range ? resolveRange(options.range, version.size) : { start: 0, end: version.size - 1 };
    const length = Math.max(0, end - start + 1);
    const handle = await open(path, 'r');
    try {
      const body = Buffer.alloc(length);
      if (length > 0) await handle.read(body, 0, length, start);
      return { body, contentType: version.contentType, totalSize: version.size, versionId: version.versionId };
    } finally {
      await handle.close();
    }
  }

  async getAttributes(key: string): Promise<ObjectAttributes | null> {
    const found = await this.findVersion(key);
    if (!found) return null;
    const { version } = found;
    return {
      size: version.size,
      sha256Hex: version.sha256Hex,
      versionId: version.versionId,
      lastModified: new Date(version.lastModified),
    };
  }

  /** The current version (or a given one) and the file holding its bytes; null when absent. */
  async findVersion(key: string, versionId?: string): Promise<{ version: StoredVersion; path: string } | null> {
    assertValidObjectKey(key);
    const dir = this.objectDir(key);
    const meta = await readMeta(dir);
    if (!meta) return null;
    const version = versionId === undefined ? meta.versions.at(-1) : meta.versions.find((v) => v.versionId === versionId);
    return version ? { version, path: join(dir, version.versionId) } : null;
  }

  async deleteAllVersions(target: DeleteTarget): Promise<{ deleted: number }> {
    assertErasableTarget(target);
    if ('key' in target) {
      assertValidObjectKey(target.key);
      return { deleted: await this.removeObject(target.key) };
    }
    assertValidObjectKey(target.prefix);
    let deleted = 0;
    for (const key of await this.keysWithPrefix(target.prefix)) deleted += await this.removeObject(key);
    return { deleted };
  }

  async presignPut(input: PresignPutInput): Promise<PresignedPut> {
    assertValidObjectKey(input.key);
    return presignPut(this.client(), this.bucket, input, this.clock);
  }

  async presignGet(input: PresignGetInput): Promise<PresignedGet> {
    assertValidObjectKey(input.key);
    return presignGet(this.client(), this.bucket, input, this.clock);
  }

  /** Health probe: the folder can be written, synced and cleaned up. */
  async probe(): Promise<void> {
    const path = this.tmpPath();
    await writeFileSynced(path, Buffer.from('probe'));
    await rm(path, { force: true });
  }

  private async commit(
    key: string,
    tmpPath: string,
    stored: Omit<StoredVersion, 'versionId' | 'lastModified'>,
  ): Promise<StoredVersion> {
    const dir = this.objectDir(key);
    const version: StoredVersion = { ...stored, versionId: newVersionId(), lastModified: this.clock.now().toISOString() };
    await this.withLock(dir, async () => {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await rename(tmpPath, join(dir, version.versionId));
      const meta = (await readMeta(dir)) ?? { key, versions: [] };
      meta.versions.push(version);
      await this.writeMeta(dir, meta);
    });
    this.notifyCreated({ bucket: this.bucket, key, size: version.size, sha256: version.sha256Hex, versionId: version.versionId });
    return version;
  }

  private async removeObject(key: string): Promise<number> {
    const dir = this.objectDir(key);
    return this.withLock(dir, async () => {
      const meta = await readMeta(dir);
      if (!meta) return 0;
      // Rename first, so readers never see a half-deleted object.
      const doomed = this.tmpPath();
      await rename(dir, doomed);
      await rm(doomed, { recursive: true, force: true });
      return meta.versions.length;
    });
  }

  private async keysWithPrefix(prefix: string): Promise<string[]> {
    const entries = await readdir(this.bucketDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const keys: string[] = [];
    for (const entry of entries) {
      const meta = await readMeta(join(this.bucketDir, entry));
      if (meta?.key.startsWith(prefix)) keys.push(meta.key);
    }
    return keys;
  }

  private async writeMeta(dir: string, meta: ObjectMeta): Promise<void> {
    const tmpPath = this.tmpPath();
    await writeFileSynced(tmpPath, Buffer.from(JSON.stringify(meta)));
    await rename(tmpPath, join(dir, 'meta.json'));
  }

  /** Serialises read-modify-write of one object's metadata within this process. */
  private async withLock<T>(dir: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(dir) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    this.locks.set(dir, current);
    try {
      return await current;
    } finally {
      if (this.locks.get(dir) === current) this.locks.delete(dir);
    }
  }

  /** Announces a stored object like S3 does: after the write, asynchronously; tracked so shutdown can wait. */
  private notifyCreated(event: ObjectCreatedEvent): void {
    const hook = this.options.onObjectCreated;
    if (!hook) return;
    const run: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => hook(event))
      .catch((error: unknown) => this.options.logger?.error('onObjectCreated hook failed', { error: errorSummary(error) }))
      .finally(() => this.pendingNotifications.delete(run));
    this.pendingNotifications.add(run);
  }

  /**
   * Resolves once every object-created hook started so far has finished (hooks started meanwhile
   * included). Shutdown awaits it before closing what the hooks use (queues, bus, database).
   */
  async settleNotifications(): Promise<void> {
    while (this.pendingNotifications.size > 0) await Promise.all([...this.pendingNotifications]);
  }


  private client(): S3Client {
    const endpoint = this.options.endpoint();
    if (this.presignClient?.endpoint !== endpoint) {
      const client = createS3Client({
        endpoint,
        forcePathStyle: true,
        region: LOCAL_REGION,
        credentials: this.options.credentials,
      });
      this.presignClient = { endpoint, client };
    }
    return this.presignClient.client;
  }

  private objectDir(key: string): string {
    return join(this.bucketDir, createHash('sha256').update(key, 'utf8').digest('hex'));
  }

  private tmpPath(): string {
    return join(this.tmpDir, randomUUID());
  }
}

/** Resolves a range against an object's size the way S3 does: clamp the end, refuse a start past it. */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } {
  assertValidRange(range);
  if (range.start >= size) throw new InvalidRangeError();
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

async function readMeta(dir: string): Promise<ObjectMeta | null> {
  try {
    return metaSchema.parse(JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw error;
  }
}

async function writeFileSynced(path: string, data: Buffer): Promise<void> {
  await writeFile(path, data, { flag: 'wx', mode: 0o600, flush: true });
}

/** Sorts by creation time, like S3's opaque but unique version ids. */
function newVersionId(): string {
  return `${Date.now().toString(36).padStart(10, '0')}${randomBytes(10).toString('hex')}`;
}
