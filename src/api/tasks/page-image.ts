import * as z from 'zod';
import { PREVIEW_CONTENT_TYPE, pagePreviewKey } from '../../domain/storage-keys';
import { notFound } from '../../http/problem';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import type { ApiDeps } from '../deps';
import { auditedTaskRequest, completedTaskOf } from './access';

/** A page number as the path carries it: digits only, no sign, no leading zero. */
const pageNumberSchema = z.string().regex(/^[1-9][0-9]{0,5}$/).transform(Number);

/**
 * `GET /v1/tasks/{id}/pages/{page}/image` → `{url, expiresAt}`: a presigned GET for the page's
 * preview (WebP, longest side 1,200 px), the image the JSON view's boxes refer to, scaled. Like
 * the HTML result it is never served by the API itself. A page the result does not have answers
 * 404 like a missing task; the owner's task that has not completed answers 409 `not_ready`.
 */
export async function getPageImageCore(
  req: ApiRequest,
  deps: Pick<ApiDeps, 'db' | 'objectStore' | 'config'>,
): Promise<ApiResponse> {
  const request = await auditedTaskRequest(req, deps, 'task.result.read');
  const task = await completedTaskOf(deps, request, 'page images exist');
  const page = pageNumberSchema.safeParse(req.pathParameters.page);
  if (!page.success || page.data > task.result.pageCount) throw notFound();
  const url = await deps.objectStore.presignGet({
    key: pagePreviewKey({ prefix: task.resultsPrefix, page: page.data }),
    expiresInSeconds: deps.config.limits.urlTtlSeconds,
    responseContentType: PREVIEW_CONTENT_TYPE,
  });
  return json(200, { url: url.url, expiresAt: url.expiresAt.toISOString() });
}
