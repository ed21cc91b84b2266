import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface MonitoringProps {
  /** Encrypts the alarm topic (the messaging key: the queues' key). */
  readonly key: kms.IKey;
  /** Subscribed to the topic when set. */
  readonly alarmEmail: string;
}

/**
 * The alarm topic (KMS-encrypted, TLS only) and the alarms that publish to it. Alarm messages
 * carry alarm names and metric values, never task content.
 */
export class Monitoring extends Construct {
  readonly topic: sns.ITopic;
  private readonly action: cloudwatch.IAlarmAction;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'untxt alarms',
      masterKey: props.key,
      enforceSSL: true,
    });
    if (props.alarmEmail !== '') topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    allowCloudWatchAlarms(props.key, topic);
    this.topic = topic;
    this.action = new actions.SnsAction(topic);
  }

  /** Something landed on a dead-letter queue and stayed there: a failure nothing handled. */
  alarmOnDepth(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    return this.alarm(id, {
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      alarmDescription: `${what}: messages are waiting on this dead-letter queue`,
    });
  }

  /** Messages arrived on a queue that a consumer drains at once (its depth alone would miss them). */
  alarmOnArrivals(id: string, queue: sqs.IQueue, what: string): cloudwatch.Alarm {
    return this.alarm(id, {
      metric: queue.metricNumberOfMessagesReceived({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
      threshold: 0,
      alarmDescription: `${what}: messages arrived on this dead-letter queue`,
    });
  }

  /** Work is waiting longer than it should: its consumer is down, throttled or too slow. */
  alarmOnOldestMessage(id: string, queue: sqs.IQueue, maxAge: Duration, what: string): cloudwatch.Alarm {
    return this.alarm(id, {
      metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: maxAge.toSeconds(),
      evaluationPeriods: 5,
      alarmDescription: `${what}: the oldest message has waited more than ${maxAge.toMinutes()} minutes`,
    });
  }

  /**
   * Events counted by a metric (e.g. a log metric filter's, summed over its period) reached
   * `atLeast` within one period: something degrades while tasks still complete or retry.
   */
  alarmOnCount(id: string, metric: cloudwatch.IMetric, atLeast: number, what: string): cloudwatch.Alarm {
    return this.alarm(id, {
      metric,
      threshold: atLeast,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: what,
    });
  }

  private alarm(
    id: string,
    props: { metric: cloudwatch.IMetric; threshold: number; alarmDescription: string; evaluationPeriods?: number; comparisonOperator?: cloudwatch.ComparisonOperator },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      evaluationPeriods: props.evaluationPeriods ?? 1,
      comparisonOperator: props.comparisonOperator ?? cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No data means an empty queue, or no such event logged: the healthy state.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    return alarm;
  }
}

/** CloudWatch publishes to an encrypted topic only if the key lets it, here for this account's alarms only. */
function allowCloudWatchAlarms(key: kms.IKey, topic: sns.ITopic): void {
  const stack = Stack.of(topic);
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsOfThisAccount',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
      resources: ['*'],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
      },
    }),
  );
}
