import type { Queryable } from '../database';

export interface NewAuditEvent {
  /** Null for unauthenticated attempts (e.g. a failed login). */
  actorUserId: string | null;
  /** Dotted, lower-case: `task.read`, `task.create`, `task.delete`, `result.read`, `user.disable`, … */
  action: string;
  /** Also for ids that do not exist: probing is worth recording. Must be a UUID or null. */
  taskId?: string | null;
  sourceIp?: string | null;
  requestId?: string | null;
  /** The account the event concerns when that is not the actor (a failed login's target). */
  subjectUserId?: string | null;
}

/**
 * Appends one audit event. Nothing is returned on purpose: roles hold INSERT only on this table
 * (RETURNING would need SELECT), and the table refuses UPDATE and DELETE for everyone.
 * Never put document content or file names into an audit event.
 */
export async function appendAuditEvent(db: Queryable, e: NewAuditEvent): Promise<void> {
  await db.query(
    `INSERT INTO audit_events (actor_user_id, action, task_id, source_ip, request_id, subject_user_id)
     VALUES ($1, $2, $3, $4::inet, $5, $6)`,
    [e.actorUserId, e.action, e.taskId ?? null, e.sourceIp ?? null, e.requestId ?? null, e.subjectUserId ?? null],
  );
}
