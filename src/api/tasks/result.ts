import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseQuery } from '../../http/validation';
import { InvalidRangeError } from '../../ports/object-store';
import type { ApiDeps } from '../deps';
import { auditedTaskRequest, completedTaskOf } from './access';
import { resultQuerySchema, type ResultFormat } from './schemas';

/**
 * How each format is served. The HTML document is never served inline by the API: it is a
 * presigned GET that S3 answers as an attachment, named after the task id (never the original
 * file name, which is PHI and would need escaping in a header), so it cannot run in the
 * bucket's origin even if the sanitizer missed something.
 */
const FORMATS: Record<ResultFormat, { contentType: string; extension: string; key: 'htmlKey' | 'textKey' | 'jsonKey' }> = {
  html: { contentType: 'text/html; charset=utf-8', extension: 'html', key: 'htmlKey' },
  text: { contentType: 'text/plain; charset=utf-8', extension: 'txt', key: 'textKey' },
  json: { contentType: 'application/json; charset=utf-8', extension: 'json', key: 'jsonKey' },
};

/**
 * `GET /v1/tasks/{id}/result?format=html|text|json` (html when omitted):
 * html → `{url, expiresAt}`; text and json inline, or 303 to a presigned GET above the inline
 * limit (5 MB) or when the body, escaped into the proxy result, would not fit Lambda's 6 MB. The owner's task that has not completed → 409 `not_ready`; anyone else's → 404.
 */
export async function getResultCore(
  req: ApiRequest,
  deps: Pick<ApiDeps, 'db' | 'objectStore' | 'config'>,
): Promise<ApiResponse> {
  const request = await auditedTaskRequest(req, deps, 'task.result.read');
  const { taskId } = request;
  const format = parseQuery(resultQuerySchema, req).format ?? 'html';
  const task = await completedTaskOf(deps, request, 'a result exists');
  const spec = FORMATS[format];
  const key = task.result[spec.key];
  const presign = () =>
    deps.objectStore.presignGet({
      key,
      expiresInSeconds: deps.config.limits.urlTtlSeconds,
      responseContentType: spec.contentType,
      responseContentDisposition: `attachment; filename="${taskId}.${spec.extension}"`,
    });

  if (format === 'html') {
    const url = await presign();
    return json(200, { url: url.url, expiresAt: url.expiresAt.toISOString() });
  }

  // One ranged read answers both questions: how large the object is, and (when small) its bytes.
  const limit = deps.config.limits.inlineResultMaxBytes;
  const object = await readUpTo(deps, key, limit);
  const body = object.totalSize > limit ? undefined : Buffer.from(object.body).toString('utf8');
  if (body === undefined || !fitsInProxyResult(body)) {
    const url = await presign();
    return { status: 303, headers: { location: url.url }, body: { url: url.url, expiresAt: url.expiresAt.toISOString() } };
  }
  return { status: 200, rawBody: { contentType: spec.contentType, body } };
}

/**
 * Lambda refuses a response over 6 MB (6,291,556 bytes), and API Gateway turns that into a 502.
 * The limit applies to the proxy result as JSON, where the body is a JSON string: quotes,
 * backslashes and newlines take two bytes there, other control characters six. So a text or
 * JSON result well under the 5 MB inline limit can still be too large once escaped (a JSON result
 * is full of quotes). Bodies whose escaped form passes this bound go by presigned URL; the
 * headroom below 6 MB is for the status, headers and the rest of the envelope.
 */
export const MAX_SERIALIZED_INLINE_BYTES = 5.5 * 1024 * 1024;

export function fitsInProxyResult(body: string): boolean {
  return Buffer.byteLength(JSON.stringify(body), 'utf8') <= MAX_SERIALIZED_INLINE_BYTES;
}

async function readUpTo(deps: Pick<ApiDeps, 'objectStore'>, key: string, limit: number): Promise<{ body: Uint8Array; totalSize: number }> {
  try {
    const object = await deps.objectStore.get(key, { range: { start: 0, end: limit } });
    // The database says completed, so the object must exist: its absence is a fault, not a 404.
    if (!object) throw new Error('result object missing for a completed task');
    return object;
  } catch (error) {
    // A range starting at byte 0 is unsatisfiable only for an empty object (a blank document).
    if (error instanceof InvalidRangeError) return { body: new Uint8Array(), totalSize: 0 };
    throw error;
  }
}
