import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { actionsOf, functionActions, functionStatements, overlyBroadStatements, resourcesOf, roleStatements } from './support/iam';
import { synthUntxt } from './support/synth';
import { logicalIdOf, resourceById, type CfnResourceJson } from './support/template';

// Prepare: one synthesis for the whole file, with non-default settings so the tests see them flow through.
const { stack, template } = synthUntxt({
  context: {
    'untxt:intakeMaxConcurrency': 7,
    'untxt:intakeAgeAlarmMinutes': 20,
    'untxt:jobsAgeAlarmMinutes': 90,
    'untxt:alarmEmail': 'ops@example.com',
  },
});
const { pipeline, queues } = stack;
const idOf = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, construct);
const arnOf = (construct: Parameters<typeof logicalIdOf>[1]) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });
const resourcesOfType = (type: string): CfnResourceJson[] => Object.values(template.findResources(type)) as CfnResourceJson[];
const propsOf = (construct: Parameters<typeof logicalIdOf>[1]) => resourceById(template, idOf(construct)).Properties;
const mappingOf = (queue: sqs.IQueue) => {
  const mappings = resourcesOfType('AWS::Lambda::EventSourceMapping').filter(
    (m) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify(arnOf(queue)),
  );
  expect(mappings).toHaveLength(1);
  return mappings[0]!.Properties;
};
const functions = () => [pipeline.intake, pipeline.sweeper, pipeline.deadLetterConsumer];

describe('the intake function', () => {
  it('takes one upload notification at a time, with concurrency capped on the event source mapping', () => {
    // Act
    const mapping = mappingOf(queues.intake);

    // Assess
    expect(mapping).toMatchObject({
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 7 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FunctionName: { Ref: idOf(pipeline.intake) },
    });
    expect(propsOf(pipeline.intake).ReservedConcurrentExecutions).toBeUndefined();
  });

  it('has a 120 s timeout, ephemeral storage above the default, and a queue whose visibility is at least six times that', () => {
    // Act
    const fn = propsOf(pipeline.intake);
    const queue = propsOf(queues.intake);

    // Assess
    expect(fn.Timeout).toBe(120);
    expect((fn.EphemeralStorage as { Size: number }).Size).toBeGreaterThan(512);
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 120);
  });

  it('may read and erase uploads only, never results, and may not write objects', () => {
    // Act
    const s3 = functionStatements(template, stack, pipeline.intake).filter((st) => actionsOf(st).some((a) => a.startsWith('s3:')));
    const objectResources = JSON.stringify(s3.filter((st) => !actionsOf(st).some((a) => a.startsWith('s3:List'))).flatMap(resourcesOf));

    // Assess
    expect([...new Set(s3.flatMap(actionsOf))].sort()).toEqual([
      's3:DeleteObjectVersion',
      's3:GetObject',
      's3:GetObjectAttributes',
      's3:ListBucket',
      's3:ListBucketVersions',
    ]);
    expect(objectResources).toContain('/uploads/*');
    expect(objectResources).not.toContain('/results/');
    expect(s3.find((st) => actionsOf(st).includes('s3:ListBucketVersions'))!.Condition).toEqual({
      StringLike: { 's3:prefix': ['uploads/*'] },
    });
  });

  it.each([
    ['intake', () => pipeline.intake],
    ['the sweeper', () => pipeline.sweeper],
  ])('%s may list the bucket only under uploads/', (_name, fn) => {
    // Act
    const listings = functionStatements(template, stack, fn()).flatMap((st) =>
      actionsOf(st)
        .filter((a) => a.startsWith('s3:List'))
        .map((a) => [a, st.Condition] as const),
    );

    // Assess
    expect(listings.sort()).toEqual([
      ['s3:ListBucket', { StringLike: { 's3:prefix': ['uploads/*'] } }],
      ['s3:ListBucketVersions', { StringLike: { 's3:prefix': ['uploads/*'] } }],
    ]);
  });

  it('may send only to the jobs queue and publish only to the task bus', () => {
    // Act
    const statements = functionStatements(template, stack, pipeline.intake);
    const send = statements.filter((st) => actionsOf(st).includes('sqs:SendMessage'));
    const put = statements.filter((st) => actionsOf(st).includes('events:PutEvents'));

    // Assess
    expect(send.flatMap(resourcesOf)).toEqual([arnOf(queues.jobs)]);
    expect(put.flatMap(resourcesOf)).toEqual([arnOf(stack.events.bus)]);
  });
});

describe('the pipeline functions', () => {
  it.each([['intake'], ['sweeper'], ['deadLetterConsumer']] as const)('%s runs in the VPC as the untxt_worker database role', (name) => {
    // Act
    const fn = propsOf(pipeline[name]);
    const connect = functionStatements(template, stack, pipeline[name]).filter((st) => actionsOf(st).includes('rds-db:connect'));

    // Assess
    expect(fn.VpcConfig).toMatchObject({ SecurityGroupIds: [{ 'Fn::GetAtt': [idOf(pipeline.securityGroup), 'GroupId'] }] });
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({ DB_USER: 'untxt_worker' });
    expect(JSON.stringify(connect.flatMap(resourcesOf))).toContain('/untxt_worker');
    expect(JSON.stringify(connect.flatMap(resourcesOf))).not.toContain('/untxt_api');
  });

  it('have no wildcard action and no `*` resource beyond ENI and X-Ray actions', () => {
    // Act
    const broad = functions().flatMap((fn) => overlyBroadStatements(functionStatements(template, stack, fn)));

    // Assess
    expect(broad).toEqual([]);
  });

  it('do not let the dead-letter consumer touch documents or the jobs queue', () => {
    // Act
    const actions = functionActions(template, stack, pipeline.deadLetterConsumer);

    // Assess
    expect(actions.filter((a) => a.startsWith('s3:'))).toEqual([]);
    expect(actions).not.toContain('sqs:SendMessage');
  });
});

describe('the sweeper', () => {
  const schedule = () => resourcesOfType('AWS::Scheduler::Schedule')[0]!.Properties;

  it('runs every 5 minutes on an EventBridge Scheduler schedule', () => {
    // Assess
    expect(resourcesOfType('AWS::Scheduler::Schedule')).toHaveLength(1);
    expect(schedule()).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    expect((schedule().Target as { Arn: unknown }).Arn).toEqual(arnOf(pipeline.sweeper));
  });

  it('has a retry policy and a dead-letter queue on the schedule target', () => {
    // Act
    const target = schedule().Target as Record<string, unknown>;

    // Assess
    expect(target.DeadLetterConfig).toEqual({ Arn: arnOf(pipeline.sweeperDeadLetter) });
    expect(target.RetryPolicy).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 240 });
  });

  it('records its own failed runs on the same dead-letter queue, without async retries', () => {
    // Act
    const invokeConfig = resourcesOfType('AWS::Lambda::EventInvokeConfig').find(
      (c) => JSON.stringify(c.Properties.FunctionName) === JSON.stringify({ Ref: idOf(pipeline.sweeper) }),
    );

    // Assess
    expect(propsOf(pipeline.sweeper).DeadLetterConfig).toEqual({ TargetArn: arnOf(pipeline.sweeperDeadLetter) });
    expect(invokeConfig?.Properties.MaximumRetryAttempts).toBe(0);
  });

  it('is invoked by a role only this account\'s scheduler may assume, allowed to invoke the sweeper and write its DLQ', () => {
    // Act
    const roleArn = (schedule().Target as { RoleArn: { 'Fn::GetAtt': [string, string] } }).RoleArn;
    const role = resourceById(template, roleArn['Fn::GetAtt'][0]).Properties;
    const statements = roleStatements(template, stack, roleArn['Fn::GetAtt'][0]);

    // Assess
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain('scheduler.amazonaws.com');
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain('aws:SourceAccount');
    expect([...new Set(statements.flatMap(actionsOf))].sort()).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'lambda:InvokeFunction',
      'sqs:SendMessage',
    ]);
    expect(overlyBroadStatements(statements)).toEqual([]);
  });
});

describe('the jobs DLQ consumer', () => {
  it('reads the jobs dead-letter queue and reports failed records individually', () => {
    // Act
    const mapping = mappingOf(queues.jobsDeadLetter);

    // Assess
    expect(mapping).toMatchObject({ FunctionResponseTypes: ['ReportBatchItemFailures'], FunctionName: { Ref: idOf(pipeline.deadLetterConsumer) } });
  });

  it('times out before the dead-letter queue would hand its message to another receive', () => {
    // Act
    const visibility = (propsOf(queues.jobsDeadLetter).VisibilityTimeout as number | undefined) ?? 30;

    // Assess
    expect(propsOf(pipeline.deadLetterConsumer).Timeout as number).toBeLessThanOrEqual(visibility);
  });
});

describe('the pipeline alarms', () => {
  const alarms = () => resourcesOfType('AWS::CloudWatch::Alarm').map((a) => a.Properties);
  const alarmOn = (metric: string, queue: sqs.IQueue) =>
    alarms().filter(
      (a) =>
        a.MetricName === metric &&
        JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(queue), 'QueueName'] } }]),
    );
  const topic = { Ref: idOf(stack.monitoring.topic) };

  it.each([
    ['intake', () => queues.intakeDeadLetter],
    ['jobs', () => queues.jobsDeadLetter],
    ['sweeper', () => pipeline.sweeperDeadLetter],
  ] as const)('fire when the %s dead-letter queue holds any message', (_name, queue) => {
    // Act
    const found = alarmOn('ApproximateNumberOfMessagesVisible', queue());

    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topic] });
  });

  it('fire when a job arrives on the jobs dead-letter queue, even if its consumer settles it at once', () => {
    // Act
    const found = alarmOn('NumberOfMessagesReceived', queues.jobsDeadLetter);

    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topic] });
  });

  it.each([
    ['intake', () => queues.intake, 20 * 60],
    ['jobs', () => queues.jobs, 90 * 60],
  ] as const)('fire when the oldest message on the %s queue is older than configured', (_name, queue, seconds) => {
    // Act
    const found = alarmOn('ApproximateAgeOfOldestMessage', queue());

    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ Threshold: seconds, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topic] });
  });

  it('publish to a KMS-encrypted, TLS-only topic with the configured email subscribed', () => {
    // Act
    const topicPolicy = resourcesOfType('AWS::SNS::TopicPolicy')[0]!.Properties;

    // Assess
    expect(propsOf(stack.monitoring.topic).KmsMasterKeyId).toEqual(arnOf(stack.keys.queues));
    expect(JSON.stringify(topicPolicy.PolicyDocument)).toContain('aws:SecureTransport');
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: topic });
  });

  it("let CloudWatch use the topic's key only for this account's alarms", () => {
    // Act
    const statements = (propsOf(stack.keys.queues).KeyPolicy as { Statement: { Principal?: { Service?: unknown }; Condition?: object }[] }).Statement;
    const cloudwatch = statements.filter((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com');

    // Assess
    expect(cloudwatch).toHaveLength(1);
    expect(JSON.stringify(cloudwatch[0]!.Condition)).toContain('aws:SourceAccount');
    expect(JSON.stringify(cloudwatch[0]!.Condition)).toContain(':alarm:*');
  });
});
