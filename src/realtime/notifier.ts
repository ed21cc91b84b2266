import type { Logger } from '@aws-lambda-powertools/logger';
import { errorSummary } from '../adapters/error-summary';
import { taskStatusEventDetailSchema, type TaskStatusEventDetail } from '../ports/event-bus';
import type { ConnectionStore } from './connection-store';
import { sendWithRetry, type ConnectionSender, type RetryPolicy, type RetryTools } from './connection-sender';
import { encodeFrame, taskStatusMessage } from './messages';
import type { NotifiedStatus, NotifiedStatusStore } from './notified-status';

export interface NotifierDeps {
  connections: ConnectionStore;
  sender: ConnectionSender;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** The seq rule's shared state: the last status passed on per task. */
  notified: NotifiedStatusStore;
  /** Remembers deliveries across a retried invocation (best effort; see RecentDeliveries). */
  delivered?: RecentDeliveries;
  retry?: RetryPolicy;
  retryTools?: RetryTools;
}

export interface NotifyOutcome {
  /** Connections the message was posted to by this try. */
  sent: number;
  /** Connections that had gone, now deleted. */
  gone: number;
  /** Connections skipped because an earlier try of the same event already reached them. */
  skipped: number;
}

/** The event was older than (or the same as) the last status passed on for its task: nothing was posted. */
export interface StaleOutcome {
  stale: true;
}

/** Some connections could not be reached: the invocation fails so that it is retried. */
export class NotifyError extends Error {
  constructor(
    readonly failed: number,
    readonly outcome: NotifyOutcome,
    readonly first: unknown,
  ) {
    super(`Posting a task status failed for ${failed} connection(s)`, { cause: first });
    this.name = 'NotifyError';
  }
}

export class InvalidTaskEventError extends Error {
  constructor(readonly issues: number) {
    super(`A task status event failed validation (${issues} issue(s))`);
    this.name = 'InvalidTaskEventError';
  }
}

/**
 * One "Task Status Changed" event → the owner's open connections. Only `detail.userId`'s
 * connections are looked up, so a status never reaches anyone but the task's owner. Posts run in
 * parallel; a gone connection is deleted; throttling and 5xx are retried with backoff; what still
 * fails makes this throw (after every other connection was tried), so the invocation is retried
 * (Lambda's asynchronous retries, then the on-failure destination). A retried event may reach a
 * connection twice (at least once): `delivered` skips the connections an earlier try reached when
 * the retry lands on the same warm instance, and the client's seq rule drops any other duplicate.
 *
 * The notifier applies the seq rule itself first (DESIGN "Events and notifications"): an event
 * older than the last status passed on for its task, or a duplicate of one already delivered, is
 * dropped (`notified`, shared by every instance); see NotifiedStatusStore for why a retry of an
 * event that was not delivered everywhere still goes through.
 */
export async function notifyTaskStatus(rawDetail: unknown, deps: NotifierDeps): Promise<NotifyOutcome | StaleOutcome> {
  const parsed = taskStatusEventDetailSchema.safeParse(rawDetail);
  if (!parsed.success) throw new InvalidTaskEventError(parsed.error.issues.length);
  const detail = parsed.data;
  const frame = encodeFrame(taskStatusMessage(detail));
  const status: NotifiedStatus = { seq: detail.seq, status: detail.status, pagesDone: detail.pagesDone };
  if (!(await deps.notified.claim(detail.taskId, status))) {
    deps.logger.info('Dropped a stale or duplicate task status', { taskId: detail.taskId, seq: detail.seq, status: detail.status, pagesDone: detail.pagesDone });
    return { stale: true };
  }
  const deliveryKey = eventKey(detail);
  const connectionIds = await deps.connections.listByUser(detail.userId);

  const outcome: NotifyOutcome = { sent: 0, gone: 0, skipped: 0 };
  const failures: unknown[] = [];
  await Promise.all(
    connectionIds.map(async (connectionId) => {
      if (deps.delivered?.has(deliveryKey, connectionId)) {
        outcome.skipped++;
        return;
      }
      try {
        const result = await sendWithRetry(deps.sender, connectionId, frame, deps.retry, deps.retryTools);
        if (result === 'gone') {
          await deps.connections.delete(connectionId);
          outcome.gone++;
        } else {
          deps.delivered?.add(deliveryKey, connectionId);
          outcome.sent++;
        }
      } catch (error) {
        failures.push(error);
      }
    }),
  );
  const log = { taskId: detail.taskId, seq: detail.seq, status: detail.status, connections: connectionIds.length, ...outcome };
  if (failures.length > 0) {
    deps.logger.error('Task status not delivered to every connection', { ...log, failed: failures.length, error: errorSummary(failures[0]) });
    throw new NotifyError(failures.length, outcome, failures[0]);
  }
  await deps.notified.confirm(detail.taskId, status);
  deps.logger.info('Task status delivered', log);
  return outcome;
}

/** One event, whatever try: a progress update shares its seq with the move to processing. */
function eventKey(detail: TaskStatusEventDetail): string {
  return `${detail.taskId}:${detail.seq}:${detail.status}:${detail.pagesDone}`;
}

/**
 * Which connections recent events reached, bounded in size (oldest events forgotten first). Kept
 * in the notifier's memory: a Lambda retry of the same event usually lands on the same warm
 * instance within minutes, and skips the connections already reached. Costs nothing when it
 * misses; the client's seq rule makes a duplicate harmless anyway.
 */
export class RecentDeliveries {
  private readonly events = new Map<string, Set<string>>();

  constructor(private readonly maxEvents = 1000) {}

  has(eventKey: string, connectionId: string): boolean {
    return this.events.get(eventKey)?.has(connectionId) ?? false;
  }

  add(eventKey: string, connectionId: string): void {
    let connections = this.events.get(eventKey);
    if (!connections) {
      connections = new Set();
      this.events.set(eventKey, connections);
      if (this.events.size > this.maxEvents) this.events.delete(this.events.keys().next().value as string);
    }
    connections.add(connectionId);
  }
}
