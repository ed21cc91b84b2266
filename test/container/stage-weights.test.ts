import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describeModelFolder, modelManifest, stageWeights } from '../../scripts/stage-weights';
import { fetchWeights, MANIFEST_NAME, type ModelSource } from '../../inference-container/src/weights';

const s3 = mockClient(S3Client);
let folder: string;

beforeEach(() => {
  s3.reset();
  folder = mkdtempSync(join(tmpdir(), 'untxt-stage-'));
  writeFileSync(join(folder, 'config.json'), '{"model_type":"qwen3_vl"}');
  writeFileSync(join(folder, 'model-00001-of-00002.safetensors'), Buffer.alloc(2500, 1));
  mkdirSync(join(folder, 'sub'));
  writeFileSync(join(folder, 'sub', 'tokenizer.json'), '{}');
  // What huggingface-cli download leaves beside the model: not part of it.
  mkdirSync(join(folder, '.cache', 'huggingface'), { recursive: true });
  writeFileSync(join(folder, '.cache', 'huggingface', 'download.lock'), '');
  writeFileSync(join(folder, '.gitattributes'), '*.safetensors filter=lfs');
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));
afterAll(() => s3.restore());

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

describe('the model manifest', () => {
  it('lists path, size and SHA-256 of each file, and is pinned by the SHA-256 of its bytes', () => {
    // Prepare
    const files = [
      { path: 'model.safetensors', size: 3, sha256: sha256('abc') },
      { path: 'config.json', size: 2, sha256: sha256('{}') },
    ];

    // Act
    const manifest = modelManifest(files);

    // Assess
    expect(JSON.parse(manifest.body)).toEqual({ format: 'untxt-model-manifest/1', files: [files[1], files[0]] });
    expect(manifest.sha256).toBe(sha256(manifest.body));
    expect(manifest.body.endsWith('}\n')).toBe(true);
  });
});

describe('staging weights', () => {
  it('describes a model folder without the download tool’s dot-files', async () => {
    // Act
    const files = await describeModelFolder(folder);

    // Assess
    expect(files.map((f) => f.path)).toEqual(['config.json', 'model-00001-of-00002.safetensors', 'sub/tokenizer.json']);
    expect(files[1]).toMatchObject({ size: 2500, sha256: sha256(Buffer.alloc(2500, 1)) });
  });

  it('uploads every file with SSE-KMS, large ones in parts, and the manifest last', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3.on(UploadPartCommand).callsFake(async (input: { PartNumber: number }) => ({ ETag: `"etag-${input.PartNumber}"` }));
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const files = await describeModelFolder(folder);

    // Act
    const pin = await stageWeights({ client: new S3Client({ region: 'eu-central-1' }), uri: 's3://untxt-models/Qwen/Qwen3-VL-8B-Instruct/', files, kmsKeyId: 'arn:aws:kms:eu-central-1:111122223333:key/k', partSize: 1024 });

    // Assess
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => p.Key).slice(0, 2).sort()).toEqual(['Qwen/Qwen3-VL-8B-Instruct/config.json', 'Qwen/Qwen3-VL-8B-Instruct/sub/tokenizer.json']);
    expect(puts[2]!.Key).toBe(`Qwen/Qwen3-VL-8B-Instruct/${MANIFEST_NAME}`);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]!.calledBefore(s3.commandCalls(PutObjectCommand)[2]!)).toBe(true);
    for (const put of puts) expect(put).toMatchObject({ Bucket: 'untxt-models', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'arn:aws:kms:eu-central-1:111122223333:key/k' });
    expect(s3).toHaveReceivedCommandWith(CreateMultipartUploadCommand, { Key: 'Qwen/Qwen3-VL-8B-Instruct/model-00001-of-00002.safetensors', ServerSideEncryption: 'aws:kms' });
    expect(s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input.ContentLength)).toEqual([1024, 1024, 452]);
    expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      UploadId: 'upload-1',
      MultipartUpload: { Parts: [expect.objectContaining({ PartNumber: 1, ETag: '"etag-1"' }), expect.objectContaining({ PartNumber: 2 }), expect.objectContaining({ PartNumber: 3 })] },
    });
    expect(pin).toBe(sha256(String(puts[2]!.Body)));
    expect(pin).toBe(modelManifest(files).sha256);
  });

  it('aborts a multipart upload that fails, so no parts are left behind, and stages no manifest', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-2' });
    s3.on(UploadPartCommand).rejects(new Error('network down'));
    s3.on(AbortMultipartUploadCommand).resolves({});
    const files = await describeModelFolder(folder);

    // Act
    const staging = stageWeights({ client: new S3Client({ region: 'eu-central-1' }), uri: 's3://untxt-models/m/', files, partSize: 1024, concurrency: 1 });

    // Assess
    await expect(staging).rejects.toThrow('network down');
    expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'upload-2' });
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).not.toContain(`m/${MANIFEST_NAME}`);
  });

  it('stages what the entrypoint then accepts under the printed pin', async () => {
    // Prepare: a bucket in memory behind the mocked client.
    const bucket = new Map<string, Buffer>();
    s3.on(PutObjectCommand).callsFake(async (input: { Key: string; Body: Buffer | string }) => {
      bucket.set(input.Key, Buffer.from(input.Body));
      return {};
    });
    const files = await describeModelFolder(folder);
    const modelDir = mkdtempSync(join(tmpdir(), 'untxt-stage-models-'));
    const source: ModelSource = { open: async (key) => Readable.from([bucket.get(`m/${key}`)!]) };

    // Act
    const pin = await stageWeights({ client: new S3Client({ region: 'eu-central-1' }), uri: 's3://untxt-models/m/', files });
    const fetched = await fetchWeights({ source, modelDir, manifestSha256: pin, concurrency: 2 });

    // Assess
    expect(fetched).toMatchObject({ files: 3, downloaded: 3 });
    rmSync(modelDir, { recursive: true, force: true });
  });
});
