import { Match } from 'aws-cdk-lib/assertions';
import { actionsOf, overlyBroadStatements, functionStatements, resourcesOf } from './support/iam';
import { synthUntxt } from './support/synth';
import { logicalIdOf, resourceById, type CfnResourceJson } from './support/template';

// Prepare: one synthesis with a non-default fleet size and idle period, for the whole file.
const { stack, template } = synthUntxt({ context: { 'untxt:gpuMaxInstances': 3, 'untxt:scaleToZeroIdleMinutes': 20 } });
const scaler = stack.gpuScaler;
const idOf = (construct: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(stack, construct);
const statements = functionStatements(template, stack, scaler.function);
const resourcesFor = (action: string) => statements.filter((st) => actionsOf(st).includes(action)).flatMap(resourcesOf);
const targetsOf = (rule: Parameters<typeof logicalIdOf>[1]) =>
  (resourceById(template, idOf(rule)).Properties.Targets as { Arn: unknown }[]).map((t) => t.Arn);
const fnArn = () => ({ 'Fn::GetAtt': [idOf(scaler.function), 'Arn'] });

describe('the GPU scaler function', () => {
  it('runs one at a time, outside the VPC, with the fleet settings in its environment', () => {
    // Act
    const fn = resourceById(template, idOf(scaler.function)).Properties;

    // Assess
    expect(fn.ReservedConcurrentExecutions).toBe(1);
    expect(fn.VpcConfig).toBeUndefined();
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      MAX_TASKS: '3',
      JOBS_PER_TASK: '8',
      IDLE_MINUTES: '20',
      CLUSTER_NAME: { Ref: idOf(stack.gpuWorker.cluster) },
      SERVICE_NAME: { 'Fn::GetAtt': [idOf(stack.gpuWorker.service), 'Name'] },
      JOBS_QUEUE_URL: { Ref: idOf(stack.queues.jobs) },
    });
  });

  it('is invoked every minute', () => {
    // Assess
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
    expect(targetsOf(scaler.scheduleRule)).toEqual([fnArn()]);
  });

  it('is woken by queued task events on the untxt bus', () => {
    // Act
    const rule = resourceById(template, idOf(scaler.queuedRule)).Properties;

    // Assess
    expect(rule).toMatchObject({
      EventBusName: { Ref: idOf(stack.events.bus) },
      EventPattern: { source: ['untxt.tasks'], 'detail-type': ['Task Status Changed'], detail: { status: ['queued'] } },
    });
    expect(targetsOf(scaler.queuedRule)).toEqual([fnArn()]);
  });

  it('may read the jobs queue\'s counts, describe and update the worker service, and keep its state item, and nothing more', () => {
    // Act
    const actions = [...new Set(statements.flatMap(actionsOf))].sort();

    // Assess
    expect(actions).toEqual(
      [
        'sqs:GetQueueAttributes', 'ecs:DescribeServices', 'ecs:UpdateService', 'dynamodb:GetItem', 'dynamodb:PutItem',
        'kms:Decrypt', 'kms:GenerateDataKey', 'logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTraceSegments', 'xray:PutTelemetryRecords',
      ].sort(),
    );
    expect(overlyBroadStatements(statements)).toEqual([]);
  });

  it('scopes each permission to the one queue, service, table and key', () => {
    // Assess
    expect(resourcesFor('sqs:GetQueueAttributes')).toEqual([{ 'Fn::GetAtt': [idOf(stack.queues.jobs), 'Arn'] }]);
    expect(resourcesFor('ecs:UpdateService')).toEqual([{ Ref: idOf(stack.gpuWorker.service) }]);
    expect(resourcesFor('dynamodb:PutItem')).toEqual([{ 'Fn::GetAtt': [idOf(scaler.stateTable), 'Arn'] }]);
    expect(resourcesFor('kms:Decrypt')).toEqual([{ 'Fn::GetAtt': [idOf(stack.keys.realtime), 'Arn'] }]);
  });
});

describe('the GPU scaler state table', () => {
  it('is encrypted with a customer key and expires a stale item', () => {
    // Assess
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: Match.objectLike({ SSEEnabled: true, KMSMasterKeyId: { 'Fn::GetAtt': [idOf(stack.keys.realtime), 'Arn'] } }),
    });
  });
});

describe('the stack with the GPU worker', () => {
  it('stays well under the CloudFormation limit of 500 resources', () => {
    // Act
    const count = Object.keys(template.toJSON().Resources as Record<string, CfnResourceJson>).length;

    // Assess
    expect(count).toBeLessThan(400);
  });
});
