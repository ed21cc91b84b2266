import type { TaskStatusEventDetail } from '../ports/event-bus';
import { isNewerStatus } from './messages';

/** What the notifier remembers of the last status it passed on for a task. */
export type NotifiedStatus = Pick<TaskStatusEventDetail, 'seq' | 'status' | 'pagesDone'>;

/**
 * The notifier's own seq rule (DESIGN "Events and notifications": every receiver drops what is
 * older than the last seq it passed on for that task), shared by every notifier instance.
 *
 * Delivery stays at least once: `claim` records a status as the task's latest before it is
 * posted, and `confirm` marks it delivered once every connection was reached. A status equal to
 * the latest is passed on again only while that one is unconfirmed (a retried invocation after
 * some posts failed); once confirmed, a duplicate is dropped. A newer status claimed meanwhile
 * supersedes an older one still being retried: the client has the newer state.
 */
export interface NotifiedStatusStore {
  /** True when `next` may be posted: newer than the task's latest, or the latest itself, unconfirmed. */
  claim(taskId: string, next: NotifiedStatus): Promise<boolean>;
  /** `next` reached every connection; a no-op when a newer status was claimed since. */
  confirm(taskId: string, next: NotifiedStatus): Promise<void>;
}

/**
 * How long a task's latest status is remembered after it was last passed on. Far beyond the
 * 15 minutes after which an event is no longer delivered (NOTIFICATION_MAX_AGE in lib/realtime.ts),
 * so an old duplicate can never arrive after its task was forgotten.
 */
export const NOTIFIED_STATUS_TTL_SECONDS = 24 * 60 * 60;

export function sameStatus(a: NotifiedStatus, b: NotifiedStatus): boolean {
  return a.seq === b.seq && a.pagesDone === b.pagesDone && a.status === b.status;
}

/** The rule `claim` applies, for a store that sees the task's latest record. */
export function mayPassOn(latest: (NotifiedStatus & { delivered: boolean }) | undefined, next: NotifiedStatus): boolean {
  if (!latest) return true;
  if (sameStatus(latest, next)) return !latest.delivered;
  return isNewerStatus(latest, next);
}

/**
 * Local mode and tests: one process, one notifier, so memory is the shared state. Bounded: the
 * tasks passed on longest ago are forgotten first (their events are long past delivery by then).
 */
export class InMemoryNotifiedStatusStore implements NotifiedStatusStore {
  private readonly latest = new Map<string, NotifiedStatus & { delivered: boolean }>();

  constructor(private readonly maxTasks = 10_000) {}

  async claim(taskId: string, next: NotifiedStatus): Promise<boolean> {
    if (!mayPassOn(this.latest.get(taskId), next)) return false;
    // Re-inserted so that the Map's order is the order tasks were last passed on.
    this.latest.delete(taskId);
    this.latest.set(taskId, { seq: next.seq, status: next.status, pagesDone: next.pagesDone, delivered: false });
    if (this.latest.size > this.maxTasks) this.latest.delete(this.latest.keys().next().value as string);
    return true;
  }

  async confirm(taskId: string, next: NotifiedStatus): Promise<void> {
    const latest = this.latest.get(taskId);
    if (latest && sameStatus(latest, next)) latest.delivered = true;
  }
}
