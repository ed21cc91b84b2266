import { GetObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  fetchWeights,
  MANIFEST_NAME,
  serializeManifest,
  sha256Hex,
  WeightsError,
  type ManifestFile,
  type ModelSource,
} from '../../inference-container/src/weights';
import { parseS3Uri, s3ModelSource } from '../../inference-container/src/weights-s3';

/** An in-memory bucket prefix that counts what was read. */
function memorySource(objects: Record<string, Buffer>): ModelSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async open(key) {
      reads.push(key);
      const body = objects[key];
      if (!body) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' });
      // Two chunks, so streaming code paths are taken.
      return (async function* () {
        yield body.subarray(0, Math.floor(body.length / 2));
        yield body.subarray(Math.floor(body.length / 2));
      })();
    },
  };
}

function entry(path: string, content: Buffer): ManifestFile {
  return { path, size: content.length, sha256: sha256Hex(content) };
}

/** A staged model: its files, the manifest beside them, and the pin. */
function stagedModel(files: Record<string, Buffer>, manifestFiles?: ManifestFile[]): { objects: Record<string, Buffer>; pin: string } {
  const manifest = serializeManifest(manifestFiles ?? Object.entries(files).map(([path, content]) => entry(path, content)));
  const objects: Record<string, Buffer> = { ...files, [MANIFEST_NAME]: Buffer.from(manifest) };
  return { objects, pin: sha256Hex(manifest) };
}

const CONFIG = Buffer.from('{"model_type":"qwen3_vl"}');
const SHARD = Buffer.alloc(256 * 1024, 7);

let modelDir: string;
beforeEach(() => {
  modelDir = mkdtempSync(join(tmpdir(), 'untxt-weights-'));
});
afterEach(() => rmSync(modelDir, { recursive: true, force: true }));

async function refusal(promise: Promise<unknown>): Promise<WeightsError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WeightsError) return error;
    throw error;
  }
  throw new Error('expected the weights to be refused');
}

describe('fetching the model weights', () => {
  it('downloads every listed file into a folder named after the pin', async () => {
    // Prepare
    const { objects, pin } = stagedModel({ 'config.json': CONFIG, 'model-00001-of-00001.safetensors': SHARD });
    const source = memorySource(objects);

    // Act
    const result = await fetchWeights({ source, modelDir, manifestSha256: pin, concurrency: 2 });

    // Assess
    expect(result).toMatchObject({ folder: join(modelDir, pin), files: 2, downloaded: 2, reused: 0, bytesDownloaded: CONFIG.length + SHARD.length });
    expect(readFileSync(join(modelDir, pin, 'model-00001-of-00001.safetensors'))).toEqual(SHARD);
    expect(readdirSync(join(modelDir, pin)).sort()).toEqual(['config.json', 'model-00001-of-00001.safetensors']);
  });

  it('refuses a manifest that does not match the pin, before reading any file', async () => {
    // Prepare
    const { objects } = stagedModel({ 'config.json': CONFIG });
    const source = memorySource(objects);

    // Act
    const error = await refusal(fetchWeights({ source, modelDir, manifestSha256: 'f'.repeat(64), concurrency: 2 }));

    // Assess
    expect(error.code).toBe('manifest-pin-mismatch');
    expect(source.reads).toEqual([MANIFEST_NAME]);
  });

  it('refuses a file whose bytes do not match its SHA-256, and leaves nothing of it behind', async () => {
    // Prepare
    const { objects, pin } = stagedModel({ 'config.json': CONFIG, 'model.safetensors': SHARD });
    const corrupted = Buffer.from(SHARD);
    corrupted[1000] = 8;
    objects['model.safetensors'] = corrupted;

    // Act
    const error = await refusal(fetchWeights({ source: memorySource(objects), modelDir, manifestSha256: pin, concurrency: 1 }));

    // Assess
    expect(error.code).toBe('hash-mismatch');
    expect(readdirSync(join(modelDir, pin)).filter((name) => name.startsWith('model.safetensors'))).toEqual([]);
  });

  it('refuses a file longer than the manifest says without writing past its size', async () => {
    // Prepare
    const { objects, pin } = stagedModel({ 'model.safetensors': SHARD });
    objects['model.safetensors'] = Buffer.concat([SHARD, Buffer.alloc(1)]);

    // Act
    const error = await refusal(fetchWeights({ source: memorySource(objects), modelDir, manifestSha256: pin, concurrency: 1 }));

    // Assess
    expect(error.code).toBe('size-mismatch');
  });

  it.each(['../outside.bin', '/etc/passwd', 'a/../../outside.bin', 'a\\..\\outside.bin', './config.json', 'a//b'])(
    'refuses a manifest path that could leave the model folder: %s',
    async (path) => {
      // Prepare: a manifest written by hand, as an attacker would, since serializeManifest refuses such paths.
      const manifest = `${JSON.stringify({ format: 'untxt-model-manifest/1', files: [entry(path, CONFIG)] })}\n`;
      const source = memorySource({ [MANIFEST_NAME]: Buffer.from(manifest), [path]: CONFIG });

      // Act
      const error = await refusal(fetchWeights({ source, modelDir, manifestSha256: sha256Hex(manifest), concurrency: 1 }));

      // Assess
      expect(error.code).toBe('path-escape');
      expect(source.reads).toEqual([MANIFEST_NAME]);
      expect(existsSync(join(modelDir, '..', 'outside.bin'))).toBe(false);
    },
  );

  it('keeps files already present and verified (reuse on the same instance), and replaces a damaged one', async () => {
    // Prepare
    const { objects, pin } = stagedModel({ 'config.json': CONFIG, 'model.safetensors': SHARD });
    await fetchWeights({ source: memorySource(objects), modelDir, manifestSha256: pin, concurrency: 2 });
    writeFileSync(join(modelDir, pin, 'config.json'), '{"model_type":"tampered!"}');
    const source = memorySource(objects);

    // Act
    const result = await fetchWeights({ source, modelDir, manifestSha256: pin, concurrency: 2 });

    // Assess
    expect(source.reads.sort()).toEqual(['config.json', MANIFEST_NAME]);
    expect(result).toMatchObject({ downloaded: 1, reused: 1 });
    expect(readFileSync(join(modelDir, pin, 'config.json'))).toEqual(CONFIG);
  });

  it('removes the folders of other pins, and nothing else, so two models never mix', async () => {
    // Prepare
    const { objects, pin } = stagedModel({ 'config.json': CONFIG });
    const otherPin = 'c'.repeat(64);
    mkdirSync(join(modelDir, otherPin));
    writeFileSync(join(modelDir, otherPin, 'model.safetensors'), SHARD);
    mkdirSync(join(modelDir, 'lost+found'));

    // Act
    const result = await fetchWeights({ source: memorySource(objects), modelDir, manifestSha256: pin, concurrency: 1 });

    // Assess
    expect(result.removedFolders).toBe(1);
    expect(readdirSync(modelDir).sort()).toEqual([pin, 'lost+found'].sort());
  });

  it('never has more downloads open than the bound', async () => {
    // Prepare
    const files = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`shard-${i}.safetensors`, Buffer.alloc(1024, i)]));
    const { objects, pin } = stagedModel(files);
    let open = 0;
    let most = 0;
    let waiting: Array<() => void> = [];
    const source: ModelSource = {
      async open(key): Promise<AsyncIterable<Uint8Array>> {
        const body = objects[key]!;
        if (key === MANIFEST_NAME) return Readable.from([body]);
        open += 1;
        most = Math.max(most, open);
        // Each download holds until a third is open (or none can follow), so the bound is reached if allowed.
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (open >= 3 || waiting.length >= 9) {
            for (const release of waiting) release();
            waiting = [];
          }
        });
        return (async function* () {
          yield body;
          open -= 1;
        })();
      },
    };

    // Act
    await fetchWeights({ source, modelDir, manifestSha256: pin, concurrency: 3 });

    // Assess
    expect(most).toBe(3);
  });

  it('gives up a file whose stream stops sending bytes, and leaves nothing of it behind', async () => {
    // Prepare: the shard's first half arrives, then nothing ever again, as from a stalled socket.
    const { objects, pin } = stagedModel({ 'config.json': CONFIG, 'model.safetensors': SHARD });
    const source: ModelSource = {
      async open(key) {
        const body = objects[key]!;
        if (key !== 'model.safetensors') return Readable.from([body]);
        return (async function* () {
          yield body.subarray(0, body.length / 2);
          await new Promise<never>(() => undefined);
        })();
      },
    };

    // Act
    const error = await refusal(fetchWeights({ source, modelDir, manifestSha256: pin, concurrency: 2, idleTimeoutMs: 50 }));

    // Assess
    expect(error.code).toBe('stalled');
    expect(readdirSync(join(modelDir, pin)).filter((name) => name.startsWith('model.safetensors'))).toEqual([]);
  });

  it('gives up a request that never answers', async () => {
    // Prepare: the manifest's GET never gets its response headers.
    const { pin } = stagedModel({ 'config.json': CONFIG });
    const source: ModelSource = { open: () => new Promise<never>(() => undefined) };

    // Act
    const error = await refusal(fetchWeights({ source, modelDir, manifestSha256: pin, concurrency: 1, idleTimeoutMs: 50 }));

    // Assess
    expect(error.code).toBe('stalled');
  });

  it('gives up a fetch that keeps receiving bytes but does not finish within its deadline', async () => {
    // Prepare: a byte every few milliseconds, never idle long enough to count as stalled.
    const big = Buffer.alloc(1024 * 1024, 1);
    const { objects, pin } = stagedModel({ 'model.safetensors': big });
    const source: ModelSource = {
      async open(key) {
        if (key === MANIFEST_NAME) return Readable.from([objects[key]!]);
        return (async function* () {
          for (let i = 0; i < big.length; i += 1) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            yield big.subarray(i, i + 1);
          }
        })();
      },
    };

    // Act
    const error = await refusal(fetchWeights({ source, modelDir, manifestSha256: pin, concurrency: 1, idleTimeoutMs: 10_000, timeoutMs: 200 }));

    // Assess
    expect(error.code).toBe('timeout');
    expect(readdirSync(join(modelDir, pin))).toEqual([]);
  });

  it('stops when asked, reporting it as a stop', async () => {
    // Prepare
    const { objects, pin } = stagedModel({ 'config.json': CONFIG });
    const abort = new AbortController();
    abort.abort();

    // Act
    const error = await refusal(fetchWeights({ source: memorySource(objects), modelDir, manifestSha256: pin, concurrency: 1, signal: abort.signal }));

    // Assess
    expect(error.code).toBe('aborted');
  });
});

describe('the manifest', () => {
  it('is the same bytes whatever order the files come in', () => {
    // Prepare
    const a = entry('b.json', CONFIG);
    const b = entry('a.safetensors', SHARD);

    // Act
    const one = serializeManifest([a, b]);
    const two = serializeManifest([b, a]);

    // Assess
    expect(one).toBe(two);
    expect(JSON.parse(one)).toEqual({ format: 'untxt-model-manifest/1', files: [b, a] });
  });

  it('cannot be written with a path that leaves the folder', () => {
    // Act + Assess
    expect(() => serializeManifest([entry('../x', CONFIG)])).toThrow(WeightsError);
  });
});

describe('the S3 model source', () => {
  it('reads keys under the prefix of MODEL_S3_URI', async () => {
    // Prepare
    const s3 = mockClient(S3Client);
    s3.on(GetObjectCommand).callsFake(async () => ({ Body: Readable.from([CONFIG]) as unknown as GetObjectCommandOutput['Body'] }));
    const source = s3ModelSource(new S3Client({ region: 'eu-central-1' }), 's3://untxt-models/qwen3-vl-8b');

    // Act
    const chunks: Buffer[] = [];
    for await (const chunk of await source.open('config.json', new AbortController().signal)) chunks.push(Buffer.from(chunk));

    // Assess
    expect(Buffer.concat(chunks)).toEqual(CONFIG);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'untxt-models', Key: 'qwen3-vl-8b/config.json' });
    s3.restore();
  });

  it.each([
    ['s3://bucket/prefix/', { bucket: 'bucket', prefix: 'prefix/' }],
    ['s3://bucket', { bucket: 'bucket', prefix: '' }],
    ['s3://bucket/a/b', { bucket: 'bucket', prefix: 'a/b/' }],
  ])('parses %s', (uri, expected) => {
    // Act + Assess
    expect(parseS3Uri(uri)).toEqual(expected);
  });

  it('rejects a URI that is not s3://', () => {
    // Act + Assess
    expect(() => parseS3Uri('https://bucket.s3.amazonaws.com/x')).toThrow('not an s3://bucket/prefix/ URI');
  });
});
