import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';

/** DESIGN "Events and notifications". */
export const EVENT_BUS_NAME = 'untxt';
export const TASK_EVENT_SOURCE = 'untxt.tasks';
export const TASK_STATUS_CHANGED = 'Task Status Changed';

export interface TaskEventsProps {
  readonly archiveRetentionDays: number;
}

/**
 * The custom bus every task status change is published to, with an archive of task events so
 * that a notifier outage can be replayed. Events carry ids and states only, never document content
 * or file names.
 */
export class TaskEvents extends Construct {
  readonly bus: events.IEventBus;
  readonly archive: events.Archive;

  constructor(scope: Construct, id: string, props: TaskEventsProps) {
    super(scope, id);
    const bus = new events.EventBus(this, 'Bus', { eventBusName: EVENT_BUS_NAME });
    this.archive = bus.archive('TaskArchive', {
      description: `Task status events (${TASK_EVENT_SOURCE}) for replay`,
      eventPattern: { source: [TASK_EVENT_SOURCE] },
      retention: Duration.days(props.archiveRetentionDays),
    });
    this.bus = bus;
  }
}
