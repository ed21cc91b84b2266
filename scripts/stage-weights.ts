/**
 * Stages model weights for the GPU worker: hashes every file of a downloaded model folder, uploads
 * the files to `s3://bucket/prefix/` (SSE-KMS, as the models bucket requires; multipart for large
 * files), then uploads `untxt-manifest.json` last, so a manifest never names a file that is not
 * there yet. Prints the manifest's SHA-256: deploy it as the `untxt:modelManifestSha256` context
 * value, which pins every byte the worker's vLLM will load (inference-container/src/weights.ts).
 *
 *   huggingface-cli download Qwen/Qwen3-VL-8B-Instruct --local-dir ./qwen3-vl-8b
 *   npm run stage-weights -- ./qwen3-vl-8b s3://<models bucket>/Qwen/Qwen3-VL-8B-Instruct/ [--kms-key-id <key arn>]
 *
 * Credentials and region come from the usual AWS environment (profile, SSO, instance role).
 * Dot-files and dot-folders (`.cache/` that huggingface-cli leaves, `.gitattributes`) are skipped.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { createS3Client } from '../src/adapters/aws/s3-client';
import { hashFile, MANIFEST_NAME, serializeManifest, sha256Hex, type ManifestFile } from '../inference-container/src/weights';
import { parseS3Uri } from '../inference-container/src/weights-s3';

export interface LocalModelFile extends ManifestFile {
  /** Where the file is on this machine. */
  localPath: string;
}

/** The manifest for a set of files: its bytes and the SHA-256 that pins it. Pure. */
export function modelManifest(files: readonly ManifestFile[]): { body: string; sha256: string } {
  const body = serializeManifest(files);
  return { body, sha256: sha256Hex(body) };
}

/** Every regular file under `folder` (following links), with size and SHA-256, in path order. */
export async function describeModelFolder(folder: string): Promise<LocalModelFile[]> {
  const root = resolve(folder);
  const files: LocalModelFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const localPath = join(dir, entry.name);
      const info = await stat(localPath);
      if (info.isDirectory()) await walk(localPath);
      else if (info.isFile()) {
        const path = relative(root, localPath).split(sep).join('/');
        if (path === MANIFEST_NAME) continue;
        files.push({ path, size: info.size, sha256: await hashFile(localPath), localPath });
      }
    }
  };
  await walk(root);
  if (files.length === 0) throw new Error('the model folder holds no files');
  return files.sort((a, b) => (a.path < b.path ? -1 : 1));
}

export interface StageOptions {
  client: S3Client;
  /** `s3://bucket/prefix/` */
  uri: string;
  files: readonly LocalModelFile[];
  /** A customer managed key; without it the bucket's default KMS key is used. */
  kmsKeyId?: string;
  /** Files at least this large go up in parts of this size (default 64 MiB). */
  partSize?: number;
  /** Files uploaded at once (default 4). */
  concurrency?: number;
  log?: (line: string) => void;
}

const DEFAULT_PART_SIZE = 64 * 1024 * 1024;

/** Uploads the files, then the manifest; resolves to the manifest's SHA-256. */
export async function stageWeights(options: StageOptions): Promise<string> {
  const { bucket, prefix } = parseS3Uri(options.uri);
  const manifest = modelManifest(options.files);
  const encryption = { ServerSideEncryption: 'aws:kms' as const, ...(options.kmsKeyId ? { SSEKMSKeyId: options.kmsKeyId } : {}) };
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const log = options.log ?? (() => undefined);

  const queue = [...options.files];
  const lane = async (): Promise<void> => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const key = `${prefix}${file.path}`;
      if (file.size >= partSize) await uploadInParts(options.client, bucket, key, file, partSize, encryption);
      else {
        await options.client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: await readFile(file.localPath),
            ContentLength: file.size,
            ChecksumSHA256: Buffer.from(file.sha256, 'hex').toString('base64'),
            ...encryption,
          }),
        );
      }
      log(`uploaded ${file.path} (${file.size} bytes)`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, options.files.length)) }, lane));

  await options.client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${prefix}${MANIFEST_NAME}`,
      Body: manifest.body,
      ContentType: 'application/json',
      ChecksumSHA256: Buffer.from(manifest.sha256, 'hex').toString('base64'),
      ...encryption,
    }),
  );
  log(`uploaded ${MANIFEST_NAME}`);
  return manifest.sha256;
}

/** A multipart upload with a SHA-256 per part (S3 checks each); aborted on failure so no parts linger. */
async function uploadInParts(
  client: S3Client,
  bucket: string,
  key: string,
  file: LocalModelFile,
  partSize: number,
  encryption: { ServerSideEncryption: 'aws:kms'; SSEKMSKeyId?: string },
): Promise<void> {
  const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256', ...encryption }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('S3 returned no upload id');
  const handle = await open(file.localPath, 'r');
  try {
    const parts: { PartNumber: number; ETag: string; ChecksumSHA256: string }[] = [];
    for (let offset = 0, partNumber = 1; offset < file.size; offset += partSize, partNumber += 1) {
      const length = Math.min(partSize, file.size - offset);
      const body = Buffer.alloc(length);
      const { bytesRead } = await handle.read(body, 0, length, offset);
      if (bytesRead !== length) throw new Error('the file changed while it was uploaded');
      const checksum = createHash('sha256').update(body).digest('base64');
      const part = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: length, ChecksumSHA256: checksum }),
      );
      if (!part.ETag) throw new Error('S3 returned no ETag for a part');
      parts.push({ PartNumber: partNumber, ETag: part.ETag, ChecksumSHA256: checksum });
    }
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  } finally {
    await handle.close();
  }
}

function usage(): never {
  process.stderr.write('usage: npm run stage-weights -- <model folder> s3://<bucket>/<prefix>/ [--kms-key-id <key arn>]\n');
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const positional: string[] = [];
  let kmsKeyId: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === '--kms-key-id') kmsKeyId = argv[++i] ?? usage();
    else positional.push(argv[i]!);
  }
  const [folder, uri] = positional;
  if (!folder || !uri || positional.length !== 2) usage();
  parseS3Uri(uri);
  process.stdout.write(`hashing ${resolve(folder)} …\n`);
  const files = await describeModelFolder(folder);
  const total = files.reduce((sum, f) => sum + f.size, 0);
  process.stdout.write(`${files.length} files, ${(total / 1024 ** 3).toFixed(2)} GiB; uploading to ${uri}\n`);
  const sha256 = await stageWeights({ client: createS3Client(), uri, files, kmsKeyId, log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`\nmanifest SHA-256: ${sha256}\ndeploy with: npx cdk deploy -c untxt:modelManifestSha256=${sha256}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`stage-weights failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
