import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ModelSource } from './weights';

/** `s3://bucket/prefix/` → bucket and a key prefix that is empty or ends with `/`. */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
  if (!match) throw new Error('not an s3://bucket/prefix/ URI');
  const rest = match[2] ?? '';
  return { bucket: match[1]!, prefix: rest === '' || rest.endsWith('/') ? rest : `${rest}/` };
}

/** Reads the model files from `s3://bucket/prefix/` with the task role (read-only on that bucket). */
export function s3ModelSource(client: S3Client, uri: string): ModelSource {
  const { bucket, prefix } = parseS3Uri(uri);
  return {
    async open(key, signal) {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}${key}` }), { abortSignal: signal });
      const body = response.Body as AsyncIterable<Uint8Array> | undefined;
      if (!body || typeof (body as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] !== 'function') {
        throw new Error('S3 returned no readable body for a model file');
      }
      return body;
    },
  };
}
