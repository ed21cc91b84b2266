import { InvalidObjectKeyError } from '../../ports/object-store';

const MAX_KEY_BYTES = 1024;
// Control characters and backslashes have no place in our id-based keys and confuse file APIs.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f\\]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The local store never builds a file path from a key (objects live under a hash of the key), so
 * this is defence in depth: it refuses keys that would be traversal attempts anywhere else, and
 * keeps local keys to the shapes S3 and our key layout accept.
 */
export function assertValidObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidObjectKeyError('empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new InvalidObjectKeyError('longer than 1024 bytes');
  if (FORBIDDEN_CHARACTERS.test(key)) throw new InvalidObjectKeyError('control character or backslash');
  if (key.startsWith('/')) throw new InvalidObjectKeyError('leading slash');
  if (LONE_SURROGATE.test(key)) throw new InvalidObjectKeyError('not valid UTF-8');
  for (const segment of key.split('/')) {
    if (segment === '.' || segment === '..') throw new InvalidObjectKeyError('dot segment');
  }
}

export function assertValidBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) throw new Error(`Invalid bucket name: ${bucket}`);
}
