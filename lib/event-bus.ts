import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** DESIGN "Events and notifications". */
export const EVENT_BUS_NAME = 'untxt';
export const TASK_EVENT_SOURCE = 'untxt.tasks';
export const TASK_STATUS_CHANGED = 'Task Status Changed';

export interface TaskEventsProps {
  readonly archiveRetentionDays: number;
  /** Encrypts the bus's events and the archive (a customer-managed key, not the AWS-owned default). */
  readonly key: kms.IKey;
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
    // With a key, CDK adds the key-policy statement EventBridge needs (GenerateDataKey, Decrypt,
    // DescribeKey), conditioned on this account, this bus's ARN and its encryption context.
    const bus = new events.EventBus(this, 'Bus', { eventBusName: EVENT_BUS_NAME, kmsKey: props.key });
    // The archive's key is set on the L1 resource: given `kmsKey`, the L2 Archive adds a key-policy
    // statement naming the bus by its GetAtt ARN, a circular dependency (key → bus → key). The
    // statement below names the bus by its formatted ARN instead.
    this.archive = new events.Archive(bus, 'TaskArchive', {
      sourceEventBus: bus,
      description: `Task status events (${TASK_EVENT_SOURCE}) for replay`,
      eventPattern: { source: [TASK_EVENT_SOURCE] },
      retention: Duration.days(props.archiveRetentionDays),
    });
    (this.archive.node.defaultChild as events.CfnArchive).kmsKeyIdentifier = props.key.keyArn;
    allowArchiveEncryption(props.key, bus);
    this.bus = bus;
  }
}

/**
 * What EventBridge needs to write and replay an encrypted archive (its documented key policy):
 * GenerateDataKey, Decrypt and ReEncrypt under this bus's encryption context, and DescribeKey,
 * which returns key metadata only and is not tied to a bus.
 */
function allowArchiveEncryption(key: kms.IKey, bus: events.EventBus): void {
  const principal = new iam.ServicePrincipal('events.amazonaws.com');
  const busArn = Stack.of(bus).formatArn({ service: 'events', resource: 'event-bus', resourceName: EVENT_BUS_NAME });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'EventBridgeArchiveOfTheTaskBus',
      principals: [principal],
      actions: ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:ReEncrypt*'],
      resources: ['*'],
      conditions: { StringEquals: { 'kms:EncryptionContext:aws:events:event-bus:arn': busArn } },
    }),
  );
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'EventBridgeDescribeKey',
      principals: [principal],
      actions: ['kms:DescribeKey'],
      resources: ['*'],
    }),
  );
}
