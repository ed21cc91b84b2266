/**
 * Model weights: the manifest that pins them and the fetch that brings them from S3 onto the
 * instance before vLLM starts.
 *
 * The image carries no weights. `scripts/stage-weights.ts` uploads a model folder and writes
 * `untxt-manifest.json` beside it (every file's path, size and SHA-256); the deployment pins the
 * manifest's own SHA-256 (`MODEL_MANIFEST_SHA256`). So one 64-digit value pins every byte vLLM
 * loads: a manifest that does not hash to the pin is refused, and so is any file that does not
 * match its line in the manifest.
 *
 * Files land in `<MODEL_DIR>/<manifest sha256>/`, so weights of two pins never mix (vLLM loads
 * every `*.safetensors` in the folder it is given), and a folder left on the instance (a host
 * folder on its EBS root volume) by an earlier task with the same pin is reused after its files
 * are verified again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';

export const MANIFEST_NAME = 'untxt-manifest.json';
export const MANIFEST_FORMAT = 'untxt-model-manifest/1';
/** A manifest lists a few dozen files; anything this large is not one. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export const manifestFileSchema = z.object({
  path: z.string().min(1).max(512),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(SHA256_HEX),
});
export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  files: z.array(manifestFileSchema).min(1).max(10_000),
});
export type ManifestFile = z.infer<typeof manifestFileSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** Why weights were refused; `code` is stable for logs and tests. */
export class WeightsError extends Error {
  constructor(
    readonly code: 'manifest-pin-mismatch' | 'manifest-invalid' | 'path-escape' | 'size-mismatch' | 'hash-mismatch' | 'stalled' | 'timeout' | 'aborted',
    message: string,
  ) {
    super(message);
    this.name = 'WeightsError';
  }
}

/**
 * The manifest's canonical bytes: files sorted by path, fixed key order, two-space JSON and a
 * final newline, so the same folder always gives the same manifest and the same pin.
 */
export function serializeManifest(files: readonly ManifestFile[]): string {
  const sorted = [...files]
    .map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest: Manifest = manifestSchema.parse({ format: MANIFEST_FORMAT, files: sorted });
  for (const file of manifest.files) assertSafeRelativePath(file.path);
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * A manifest path must name a file inside the model folder: relative, `/`-separated, without
 * `.`/`..` segments or backslashes. Checked on the path text here and again on the resolved path
 * by `targetPath`, so neither a crafted manifest nor a platform quirk can write outside.
 */
export function assertSafeRelativePath(path: string): void {
  const segments = path.split('/');
  const bad =
    path.includes('\\') ||
    path.includes('\0') ||
    isAbsolute(path) ||
    segments.some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new WeightsError('path-escape', 'a manifest path leaves the model folder');
}

export function targetPath(folder: string, path: string): string {
  assertSafeRelativePath(path);
  const root = resolve(folder);
  const target = resolve(root, ...path.split('/'));
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || !target.startsWith(root + sep)) {
    throw new WeightsError('path-escape', 'a manifest path leaves the model folder');
  }
  return target;
}

/** Parses manifest bytes after checking them against the pin. */
export function verifyManifest(bytes: Uint8Array, pinnedSha256: string): Manifest {
  const actual = sha256Hex(bytes);
  if (actual !== pinnedSha256.toLowerCase()) {
    throw new WeightsError('manifest-pin-mismatch', 'the model manifest does not match MODEL_MANIFEST_SHA256');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new WeightsError('manifest-invalid', 'the model manifest is not JSON');
  }
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) throw new WeightsError('manifest-invalid', 'the model manifest does not have the expected shape');
  const seen = new Set<string>();
  for (const file of result.data.files) {
    assertSafeRelativePath(file.path);
    if (seen.has(file.path)) throw new WeightsError('manifest-invalid', 'the model manifest lists a path twice');
    seen.add(file.path);
  }
  return result.data;
}

/** Where the weights come from: S3 in the container (see `s3ModelSource`), memory in tests. */
export interface ModelSource {
  /** The object's bytes as a stream; `key` is relative to the model prefix. */
  open(key: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** A model file (or its request) that gets no bytes for this long is given up: S3 has stalled. */
export const DEFAULT_FETCH_IDLE_TIMEOUT_MS = 60_000;
/** The whole fetch, manifest to last file; ~16 GiB takes minutes, so this only ends a fetch that crawls. */
export const DEFAULT_FETCH_TIMEOUT_MS = 1_800_000;

export interface FetchWeightsOptions {
  source: ModelSource;
  /** The folder that holds one sub-folder per pinned manifest (`MODEL_DIR`). */
  modelDir: string;
  manifestSha256: string;
  /** Files downloaded at once. */
  concurrency: number;
  signal?: AbortSignal;
  /** No bytes of one file for this long fails the fetch (`stalled`); default `DEFAULT_FETCH_IDLE_TIMEOUT_MS`. */
  idleTimeoutMs?: number;
  /** The fetch not done within this fails it (`timeout`); default `DEFAULT_FETCH_TIMEOUT_MS`. */
  timeoutMs?: number;
}

export interface FetchWeightsResult {
  /** The folder vLLM serves: `<modelDir>/<manifest sha256>`. */
  folder: string;
  files: number;
  downloaded: number;
  reused: number;
  bytesDownloaded: number;
  /** Folders of other pins removed to free the instance's disk. */
  removedFolders: number;
}

/**
 * Fetches and verifies every file the pinned manifest lists. Files already in place with the right
 * size and SHA-256 are kept; anything else is streamed to a temporary name beside its target,
 * hashed and sized on the way, and renamed into place only when both match.
 *
 * It never waits forever: a stalled S3 stream leaves a read pending with no error, which would
 * keep the task running (and billed) with no worker. So every wait for bytes is bounded by
 * `idleTimeoutMs`, and the whole fetch by `timeoutMs`.
 */
export async function fetchWeights(options: FetchWeightsOptions): Promise<FetchWeightsResult> {
  const pin = options.manifestSha256.toLowerCase();
  if (!SHA256_HEX.test(pin)) throw new WeightsError('manifest-invalid', 'MODEL_MANIFEST_SHA256 is not 64 hex digits');
  const abort = new AbortController();
  const outer = options.signal;
  const onOuterAbort = (): void => abort.abort();
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const idleMs = options.idleTimeoutMs ?? DEFAULT_FETCH_IDLE_TIMEOUT_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    abort.abort();
  }, timeoutMs);
  const open = async (key: string): Promise<AsyncIterable<Uint8Array>> =>
    idleBounded(await withinIdle(options.source.open(key, abort.signal), idleMs, abort.signal), idleMs, abort.signal);
  try {
    if (outer?.aborted) throw new WeightsError('aborted', 'stopped before the weights were fetched');
    const manifest = verifyManifest(await readAll(await open(MANIFEST_NAME), MAX_MANIFEST_BYTES), pin);
    await mkdir(options.modelDir, { recursive: true });
    const removedFolders = await removeOtherPins(options.modelDir, pin);
    const folder = join(resolve(options.modelDir), pin);
    await mkdir(folder, { recursive: true });
    const targets = manifest.files.map((file) => ({ file, target: targetPath(folder, file.path) }));

    let downloaded = 0;
    let bytesDownloaded = 0;
    await runBounded(targets, options.concurrency, abort, async ({ file, target }) => {
      if (await isInPlace(target, file, abort.signal)) return;
      await download(open, file, target, abort.signal);
      downloaded += 1;
      bytesDownloaded += file.size;
    });
    return { folder, files: targets.length, downloaded, reused: targets.length - downloaded, bytesDownloaded, removedFolders };
  } catch (error) {
    // A stop request or the deadline surfaces as whatever the interrupted step threw; report it as what it is.
    if (outer?.aborted) throw error instanceof WeightsError && error.code !== 'aborted' ? error : new WeightsError('aborted', 'stopped before the weights were fetched');
    if (timedOut) throw new WeightsError('timeout', `the model weights were not fetched within ${Math.round(timeoutMs / 1000)} s`);
    throw error;
  } finally {
    clearTimeout(deadline);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/**
 * Settles as `promise` does, unless `idleMs` pass first (a `stalled` error) or `signal` aborts (an
 * `aborted` one). A stalled socket never settles a read, so the wait is raced, not trusted to end.
 */
async function withinIdle<T>(promise: Promise<T>, idleMs: number, signal: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new WeightsError('stalled', `no bytes of a model file arrived for ${Math.round(idleMs / 1000)} s`)), idleMs);
        onAbort = () => reject(new WeightsError('aborted', 'the fetch was stopped'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** `body`'s chunks, each awaited within `idleMs`; a body given up on is closed (which ends its socket). */
async function* idleBounded(body: AsyncIterable<Uint8Array>, idleMs: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const next = await withinIdle(iterator.next(), idleMs, signal);
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Not awaited: a stalled source may never answer this either.
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/** Whether `target` already holds exactly `file` (reuse on the same instance). */
async function isInPlace(target: string, file: ManifestFile, signal: AbortSignal): Promise<boolean> {
  const info = await stat(target).catch(() => undefined);
  if (!info?.isFile() || info.size !== file.size) return false;
  return (await hashFile(target, signal)) === file.sha256;
}

/** Hex SHA-256 of the file at `path`, read as a stream (model files are gigabytes). */
export async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, signal ? { signal } : {})) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function download(open: (key: string) => Promise<AsyncIterable<Uint8Array>>, file: ManifestFile, target: string, signal: AbortSignal): Promise<void> {
  await mkdir(resolve(target, '..'), { recursive: true });
  const partial = `${target}.partial-${randomBytes(6).toString('hex')}`;
  const hash = createHash('sha256');
  let size = 0;
  try {
    const body = await open(file.path);
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of body) {
        size += chunk.byteLength;
        // Stop as soon as the object is longer than pinned rather than filling the disk.
        if (size > file.size) throw new WeightsError('size-mismatch', 'a model file is larger than its manifest says');
        hash.update(chunk);
        yield chunk;
      }
    }
    await pipeline(counted(), createWriteStream(partial, { mode: 0o644 }), { signal });
    if (size !== file.size) throw new WeightsError('size-mismatch', 'a model file is smaller than its manifest says');
    if (hash.digest('hex') !== file.sha256) throw new WeightsError('hash-mismatch', 'a model file does not match its SHA-256 in the manifest');
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

/** Removes `<modelDir>/<64 hex>` folders of other pins; nothing else in MODEL_DIR is touched. */
async function removeOtherPins(modelDir: string, pin: string): Promise<number> {
  let removed = 0;
  for (const entry of await readdir(modelDir, { withFileTypes: true })) {
    if (entry.isDirectory() && SHA256_HEX.test(entry.name) && entry.name !== pin) {
      await rm(join(modelDir, entry.name), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

async function readAll(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.byteLength;
    if (length > limit) throw new WeightsError('manifest-invalid', 'the model manifest is too large');
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Runs `work` over `items`, at most `limit` at once; the first failure aborts the rest. */
async function runBounded<T>(items: readonly T[], limit: number, abort: AbortController, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next]!;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        if (failure === undefined) failure = error;
        abort.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== undefined) throw failure;
}
