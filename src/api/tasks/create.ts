import { randomUUID } from 'node:crypto';
import { requireUser } from '../../auth/authenticate';
import { resultsPrefix, uploadKey } from '../../domain/storage-keys';
import { startOfUtcDay } from '../../domain/utc-day';
import { lockQuotaOf, taskUsage } from '../../db/repositories/quota';
import { createFileAndTask } from '../../db/repositories/tasks';
import { json, type ApiRequest, type ApiResponse } from '../../http/request';
import { parseBody } from '../../http/validation';
import { auditRequest } from '../audit';
import type { ApiDeps } from '../deps';
import { quotaRefusal } from './quota';
import { createTaskBodySchema } from './schemas';
import { taskView } from './view';

/**
 * `POST /v1/tasks {filename, contentType, size, sha256}` → 201 `{task, upload}`.
 *
 * The upload URL is signed first (a local computation: nothing is stored if it fails), for a key
 * made of ids only. Then one transaction takes the caller's quota lock, checks the quotas (429
 * with Retry-After), creates file + task + history in one statement and records `task.create`;
 * a refusal or failure anywhere leaves nothing behind. No event: the task is awaiting_upload and
 * the client learns that from this answer.
 */
export async function createTaskCore(
  req: ApiRequest,
  deps: Pick<ApiDeps, 'db' | 'objectStore' | 'clock' | 'config'>,
): Promise<ApiResponse> {
  const user = await requireUser(req, deps);
  const body = parseBody(createTaskBodySchema(deps.config.limits), req);
  const now = deps.clock.now();
  const fileId = randomUUID();
  const taskId = randomUUID();
  const s3Key = uploadKey({ userId: user.id, fileId, contentType: body.contentType, at: now });
  const upload = await deps.objectStore.presignPut({
    key: s3Key,
    contentType: body.contentType,
    contentLength: body.size,
    sha256Hex: body.sha256,
    expiresInSeconds: deps.config.limits.urlTtlSeconds,
  });

  const created = await deps.db.transaction(async (tx) => {
    await lockQuotaOf(tx, user.id);
    const refusal = quotaRefusal(await taskUsage(tx, user.id, startOfUtcDay(now)), body.size, deps.config.limits, now);
    if (refusal) throw refusal;
    const result = await createFileAndTask(tx, {
      ownerId: user.id,
      originalName: body.filename,
      contentType: body.contentType,
      size: body.size,
      sha256: body.sha256,
      fileId,
      taskId,
      s3Key,
      resultsPrefix: resultsPrefix({ userId: user.id, taskId, at: now }),
    });
    await auditRequest(tx, req, { action: 'task.create', actorUserId: user.id, taskId });
    return result;
  });

  const { task, file } = created;
  return json(201, {
    task: taskView({ ...task, filename: file.originalName, contentType: file.contentType, size: file.size }),
    upload: { url: upload.url, method: upload.method, headers: upload.headers, expiresAt: upload.expiresAt.toISOString() },
  });
}
