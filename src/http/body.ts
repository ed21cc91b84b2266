import { invalidJson, payloadTooLarge, unsupportedMediaType } from './problem';

/** Bodies of this API are small JSON documents (uploads go straight to S3). */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/**
 * The request body as JSON. An empty body is `undefined` (the core decides whether it needs
 * one); anything else must be declared `application/json` (UTF-8, the only charset JSON has),
 * stay under the size limit and parse.
 */
export function parseJsonBody(
  raw: string | undefined,
  contentType: string | undefined,
  maxBytes: number = DEFAULT_MAX_BODY_BYTES,
): unknown {
  if (raw === undefined || raw === '') return undefined;
  if (Buffer.byteLength(raw, 'utf8') > maxBytes) throw payloadTooLarge(maxBytes);
  if (!isJsonContentType(contentType)) throw unsupportedMediaType();
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw invalidJson();
  }
}

function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [type, ...params] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return params.every((param) => !param.startsWith('charset=') || /^charset="?utf-8"?$/.test(param));
}
