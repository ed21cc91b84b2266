import { randomBytes } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Clock } from '../../ports/clock';
import { InvalidObjectKeyError, InvalidRangeError, type ByteRange } from '../../ports/object-store';
import { sha256HexToBase64 } from '../aws/s3-presign';
import { systemClock } from '../clock';
import { errorSummary } from '../error-summary';
import { ObjectWriteError, resolveRange, type LocalObjectStore, type StoredVersion } from './local-object-store';
import { assertValidObjectKey } from './object-key';
import { splitRequestTarget } from './request-target';
import type { PresignedUrlVerifier } from './sigv4-verifier';

export interface LocalS3HandlerOptions {
  /** Path the store is mounted at on the HTTP server, e.g. `/s3` (no trailing slash). */
  mountPath: string;
  stores: LocalObjectStore[];
  verifier: PresignedUrlVerifier;
  /** Hard cap on any upload, whatever a URL signs. */
  maxObjectBytes: number;
  clock?: Clock;
  logger?: Logger;
}

interface S3Error {
  status: number;
  code: string;
  message: string;
}

/** The only checksum the store verifies; others are refused rather than silently not checked. */
const SHA256_HEADER = 'x-amz-checksum-sha256';
const SHA256_BASE64 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Serves presigned PUT, GET and HEAD for the local buckets, in path style
 * (`<mountPath>/<bucket>/<key>`), answering failures in S3's XML error format. Only presigned
 * (query-string) authentication is accepted: the service itself reads and writes through
 * LocalObjectStore directly, so nothing else needs a way in.
 */
export function createLocalS3Handler(options: LocalS3HandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const stores = new Map(options.stores.map((store) => [store.bucket, store]));
  const clock = options.clock ?? systemClock;
  return async (req, res) => {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    try {
      const error = await handle(req, res);
      if (error) sendError(req, res, error, requestId);
    } catch (error) {
      options.logger?.error('Object store request failed', { error: errorSummary(error) });
      if (!res.headersSent) sendError(req, res, { status: 500, code: 'InternalError', message: 'We encountered an internal error. Please try again.' }, requestId);
      else res.destroy();
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<S3Error | null> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') {
      return { status: 405, code: 'MethodNotAllowed', message: 'The specified method is not allowed against this resource.' };
    }
    const target = parseTarget(req.url ?? '/', options.mountPath);
    if ('status' in target) return target;
    if (!('X-Amz-Signature' in target.query)) {
      return { status: 403, code: 'AccessDenied', message: 'Only presigned (query-string authenticated) requests are accepted.' };
    }
    const refusal = await options.verifier.verify({ method, rawPath: target.rawPath, query: target.query, headers: req.headers }, clock.now());
    if (refusal) return refusal;
    const store = stores.get(target.bucket);
    if (!store) return { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' };
    return method === 'PUT' ? put(store, target.key, target.query, req, res) : get(store, target.key, target.query, req, res);
  }

  async function put(
    store: LocalObjectStore,
    key: string,
    query: Record<string, string>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<S3Error | null> {
    const declared = req.headers['content-length'];
    if (declared === undefined) return { status: 411, code: 'MissingContentLength', message: 'You must provide the Content-Length HTTP header.' };
    const size = Number(declared);
    if (size > options.maxObjectBytes) return writeRefusal('EntityTooLarge');
    const checksum = req.headers[SHA256_HEADER];
    if (checksum !== undefined && (typeof checksum !== 'string' || !SHA256_BASE64.test(checksum))) {
      return { status: 400, code: 'InvalidRequest', message: `Value for ${SHA256_HEADER} header is invalid.` };
    }
    if (unsupportedChecksum(req, query)) {
      return { status: 400, code: 'InvalidRequest', message: 'Only the SHA256 checksum algorithm is supported by this store.' };
    }
    try {
      const stored = await store.putStream(key, headerValue(req.headers['content-type']), req, {
        maxBytes: options.maxObjectBytes,
        expectedSize: size,
        expectedSha256Base64: checksum,
      });
      res.writeHead(200, {
        ETag: `"${stored.md5Hex}"`,
        'x-amz-version-id': stored.versionId,
        ...(checksum ? { [SHA256_HEADER]: checksum } : {}),
        'Content-Length': 0,
      });
      res.end();
      return null;
    } catch (error) {
      if (error instanceof ObjectWriteError) return writeRefusal(error.code);
      throw error;
    }
  }

  async function get(
    store: LocalObjectStore,
    key: string,
    query: Record<string, string>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<S3Error | null> {
    const found = await store.findVersion(key, query.versionId);
    // Opened before any header is sent: a delete between the lookup and here (the object's folder
    // renamed away) is then an ordinary NoSuchKey, and once open the bytes stay readable to the end.
    const file = found ? await openIfPresent(found.path) : null;
    if (!found || !file) return { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
    try {
      return await sendVersion(found.version, file, query, req, res);
    } finally {
      await file.close();
    }
  }

  async function sendVersion(
    version: StoredVersion,
    file: FileHandle,
    query: Record<string, string>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<S3Error | null> {
    const range = parseRangeHeader(req.headers.range, version.size);
    let slice = { start: 0, end: version.size - 1 };
    if (range) {
      try {
        slice = resolveRange(range, version.size);
      } catch (error) {
        if (error instanceof InvalidRangeError || error instanceof RangeError) {
          return { status: 416, code: 'InvalidRange', message: 'The requested range is not satisfiable' };
        }
        throw error;
      }
    }
    const headers: Record<string, string | number> = {
      'Content-Type': query['response-content-type'] ?? version.contentType ?? 'binary/octet-stream',
      'Content-Length': Math.max(0, slice.end - slice.start + 1),
      ETag: `"${version.md5Hex}"`,
      'Last-Modified': new Date(version.lastModified).toUTCString(),
      'Accept-Ranges': 'bytes',
      'x-amz-version-id': version.versionId,
    };
    if (query['response-content-disposition']) headers['Content-Disposition'] = query['response-content-disposition'];
    if (range) headers['Content-Range'] = `bytes ${slice.start}-${slice.end}/${version.size}`;
    // Like S3: a part of the object has no checksum of its own, so only whole reads carry it.
    else if (query['x-amz-checksum-mode'] === 'ENABLED' || req.headers['x-amz-checksum-mode'] === 'ENABLED') {
      headers[SHA256_HEADER] = sha256HexToBase64(version.sha256Hex);
    }
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || version.size === 0) {
      res.end();
      return null;
    }
    await pipeline(file.createReadStream({ start: slice.start, end: slice.end, autoClose: false }), res);
    return null;
  }
}

type Target = { bucket: string; key: string; rawPath: string; query: Record<string, string> };

function parseTarget(url: string, mountPath: string): Target | S3Error {
  const { path: rawPath, rawQuery } = splitRequestTarget(url);
  const query = parseQuery(rawQuery);
  if (!query) return { status: 400, code: 'InvalidArgument', message: 'Malformed query string' };
  if (!rawPath.startsWith(`${mountPath}/`)) return { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' };
  const rest = rawPath.slice(mountPath.length + 1);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) {
    return { status: 400, code: 'InvalidRequest', message: 'Only object requests (path style: /bucket/key) are supported.' };
  }
  try {
    const bucket = decodeURIComponent(rest.slice(0, slash));
    const key = decodeURIComponent(rest.slice(slash + 1));
    assertValidObjectKey(key);
    return { bucket, key, rawPath, query };
  } catch (error) {
    if (error instanceof InvalidObjectKeyError || error instanceof URIError) {
      return { status: 400, code: 'InvalidArgument', message: 'The object key is not acceptable.' };
    }
    throw error;
  }
}

async function openIfPresent(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Decodes `a=b&c=d` without URLSearchParams' `+` → space rule, which SigV4 does not use. Null on a repeated or malformed parameter. */
function parseQuery(raw: string): Record<string, string> | null {
  const query: Record<string, string> = {};
  if (raw === '') return query;
  try {
    for (const pair of raw.split('&')) {
      const equals = pair.indexOf('=');
      const name = decodeURIComponent(equals === -1 ? pair : pair.slice(0, equals));
      const value = equals === -1 ? '' : decodeURIComponent(pair.slice(equals + 1));
      if (Object.hasOwn(query, name) || name === '__proto__') return null;
      query[name] = value;
    }
    return query;
  } catch {
    return null;
  }
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` (the last n bytes); anything else is ignored, as S3 ignores what it cannot parse. */
function parseRangeHeader(value: string | undefined, size: number): ByteRange | null {
  const match = value && /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') return { start: Math.max(0, size - Number(match[2])) };
  return { start: Number(match[1]), end: match[2] === '' ? undefined : Number(match[2]) };
}

/** A CRC32 (say) that an SDK with default settings adds would go unchecked here: refuse it instead. */
function unsupportedChecksum(req: IncomingMessage, query: Record<string, string>): boolean {
  const names = [...Object.keys(req.headers), ...Object.keys(query)].map((name) => name.toLowerCase());
  const otherChecksum = names.some((name) => name.startsWith('x-amz-checksum-') && name !== SHA256_HEADER && name !== 'x-amz-checksum-mode');
  const algorithm = headerValue(req.headers['x-amz-sdk-checksum-algorithm']);
  return otherChecksum || (algorithm !== null && algorithm.toUpperCase() !== 'SHA256');
}

function writeRefusal(code: ObjectWriteError['code']): S3Error {
  switch (code) {
    case 'BadDigest':
      return { status: 400, code, message: `The ${SHA256_HEADER} you specified did not match the calculated checksum.` };
    case 'IncompleteBody':
      return { status: 400, code, message: 'You did not provide the number of bytes specified by the Content-Length HTTP header.' };
    case 'EntityTooLarge':
      return { status: 400, code, message: 'Your proposed upload exceeds the maximum allowed size' };
  }
}

function headerValue(value: string | string[] | undefined): string | null {
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

function sendError(req: IncomingMessage, res: ServerResponse, error: S3Error, requestId: string): void {
  const body = req.method === 'HEAD'
    ? ''
    : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message><RequestId>${requestId}</RequestId></Error>`;
  // The body may not have been read: ask the client to close rather than reuse a half-read connection.
  res.writeHead(error.status, {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
  });
  res.end(body);
  req.resume();
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);
}
