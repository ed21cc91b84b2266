import type { EventBridgeEvent } from 'aws-lambda';
import { TASK_EVENT_SOURCE, TASK_STATUS_CHANGED } from '../../src/ports/event-bus';
import { notifyTaskStatus, type NotifierDeps, type NotifyOutcome, type StaleOutcome } from '../../src/realtime/notifier';
import { realtimeRuntime } from './runtime';

/**
 * "Task Status Changed" from the `untxt` bus → the owner's WebSocket connections. Invoked
 * asynchronously by the rule: a throw (some connection could not be reached, or the event is
 * malformed) is retried by Lambda and then lands on the on-failure destination.
 */
export function notifierHandler(deps: () => NotifierDeps) {
  return async (event: EventBridgeEvent<string, unknown>): Promise<NotifyOutcome | StaleOutcome | { ignored: true }> => {
    const current = deps();
    // The rule matches exactly these; anything else reaching here is a wiring mistake, not a task event.
    if (event.source !== TASK_EVENT_SOURCE || event['detail-type'] !== TASK_STATUS_CHANGED) {
      current.logger.warn('Ignored an event that is not a task status change', { source: event.source, detailType: event['detail-type'] });
      return { ignored: true };
    }
    return notifyTaskStatus(event.detail, current);
  };
}

const runtime = realtimeRuntime('untxt-notifier');
export const handler = notifierHandler(() => ({
  connections: runtime.connections(),
  sender: runtime.sender(),
  logger: runtime.logger,
  notified: runtime.notified(),
  delivered: runtime.delivered,
}));
