import { isIP } from 'node:net';
import type { Queryable } from '../db/database';
import { appendAuditEvent } from '../db/repositories/audit';
import type { ApiRequest } from '../http/request';

/**
 * Appends an audit event for a request: who (null when unauthenticated), what, from where. Never
 * emails, names or tokens: the action and ids say enough. A failure to record fails the request.
 */
export async function auditRequest(
  db: Queryable,
  req: Pick<ApiRequest, 'sourceIp' | 'requestId'>,
  event: { action: string; actorUserId: string | null; taskId?: string | null; subjectUserId?: string | null },
): Promise<void> {
  await appendAuditEvent(db, {
    actorUserId: event.actorUserId,
    action: event.action,
    taskId: event.taskId ?? null,
    subjectUserId: event.subjectUserId ?? null,
    sourceIp: isIP(req.sourceIp) ? req.sourceIp : null,
    requestId: req.requestId.slice(0, 200),
  });
}
