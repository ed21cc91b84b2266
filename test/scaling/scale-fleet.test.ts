import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { scaleFleet, scaleFleetConfigFromEnv, STATE_ITEM_ID } from '../../lambdas/scaler/scale-fleet';

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 10, 29, 12, 0, 0);
const TARGET = { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/jobs', cluster: 'gpu', service: 'worker', stateTable: 'state' };
const SETTINGS = { maxTasks: 2, jobsPerTask: 8, idleMs: 15 * MINUTE };

const sqs = mockClient(SQSClient);
const ecs = mockClient(ECSClient);
const dynamodb = mockClient(DynamoDBClient);
const deps = () => ({ sqs: new SQSClient({}), ecs: new ECSClient({}), dynamodb: new DynamoDBClient({}), now: () => NOW });

function given(backlog: { visible: number; inFlight: number }, service: { desired: number; running: number }, lastNonEmptyAt?: number): void {
  sqs.on(GetQueueAttributesCommand).resolves({
    Attributes: { ApproximateNumberOfMessages: String(backlog.visible), ApproximateNumberOfMessagesNotVisible: String(backlog.inFlight) },
  });
  ecs.on(DescribeServicesCommand).resolves({
    services: [{ status: 'ACTIVE', desiredCount: service.desired, runningCount: service.running }],
  });
  ecs.on(UpdateServiceCommand).resolves({});
  dynamodb.on(GetItemCommand).resolves(lastNonEmptyAt === undefined ? {} : { Item: { id: { S: STATE_ITEM_ID }, lastNonEmptyAt: { N: String(lastNonEmptyAt) } } });
  dynamodb.on(PutItemCommand).resolves({});
}

beforeEach(() => {
  sqs.reset();
  ecs.reset();
  dynamodb.reset();
});

describe('a scaling pass', () => {
  it('starts one task for one queued job when the fleet is at zero, and records the time', async () => {
    // Prepare
    given({ visible: 1, inFlight: 0 }, { desired: 0, running: 0 });

    // Act
    const result = await scaleFleet(TARGET, SETTINGS, deps());

    // Assess
    expect(result).toMatchObject({ desired: 1, previousDesired: 0, reason: 'backlog' });
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: 'gpu', service: 'worker', desiredCount: 1 });
    expect(dynamodb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'state',
      Item: expect.objectContaining({ id: { S: STATE_ITEM_ID }, lastNonEmptyAt: { N: String(NOW) } }),
    });
  });

  it('reads both visible and in-flight counts of the jobs queue', async () => {
    // Prepare
    given({ visible: 0, inFlight: 0 }, { desired: 0, running: 0 });

    // Act
    await scaleFleet(TARGET, SETTINGS, deps());

    // Assess
    expect(sqs).toHaveReceivedCommandWith(GetQueueAttributesCommand, {
      QueueUrl: TARGET.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    });
  });

  it('leaves the service alone while jobs are in flight on the tasks it has', async () => {
    // Prepare
    given({ visible: 0, inFlight: 3 }, { desired: 1, running: 1 }, NOW - MINUTE);

    // Act
    const result = await scaleFleet(TARGET, SETTINGS, deps());

    // Assess
    expect(result).toMatchObject({ desired: 1, changed: false });
    expect(ecs).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('scales to zero once the queue has been empty for the idle period, without rewriting the time', async () => {
    // Prepare
    given({ visible: 0, inFlight: 0 }, { desired: 1, running: 1 }, NOW - 15 * MINUTE);

    // Act
    const result = await scaleFleet(TARGET, SETTINGS, deps());

    // Assess
    expect(result).toMatchObject({ desired: 0, reason: 'idle-expired' });
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { desiredCount: 0 });
    expect(dynamodb).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('fails the run when the service is not active, changing nothing', async () => {
    // Prepare
    given({ visible: 1, inFlight: 0 }, { desired: 0, running: 0 });
    ecs.on(DescribeServicesCommand).resolves({ services: [], failures: [{ reason: 'MISSING' }] });

    // Act
    const run = scaleFleet(TARGET, SETTINGS, deps());

    // Assess
    await expect(run).rejects.toThrow('not active');
    expect(ecs).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  it('fails the run when the queue does not report its counts', async () => {
    // Prepare
    given({ visible: 0, inFlight: 0 }, { desired: 1, running: 1 });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });

    // Act
    const run = scaleFleet(TARGET, SETTINGS, deps());

    // Assess
    await expect(run).rejects.toThrow('ApproximateNumberOfMessages');
    expect(ecs).not.toHaveReceivedCommand(UpdateServiceCommand);
  });
});

/** The environment the scaler's construct gives it, naming TARGET and SETTINGS. */
const SCALER_ENV = {
  JOBS_QUEUE_URL: TARGET.queueUrl,
  CLUSTER_NAME: 'gpu',
  SERVICE_NAME: 'worker',
  STATE_TABLE: 'state',
  MAX_TASKS: '2',
  JOBS_PER_TASK: '8',
  IDLE_MINUTES: '15',
};

describe('the scaler configuration from the environment', () => {
  it('reads the target and settings, with the idle period in minutes', () => {
    // Act
    const config = scaleFleetConfigFromEnv(SCALER_ENV);

    // Assess
    expect(config).toEqual({ target: TARGET, settings: SETTINGS });
  });

  it.each([
    ['a missing queue URL', { JOBS_QUEUE_URL: undefined }, 'JOBS_QUEUE_URL is not set'],
    ['a maximum of zero', { MAX_TASKS: '0' }, 'MAX_TASKS must be a positive integer'],
    ['a fractional idle period', { IDLE_MINUTES: '1.5' }, 'IDLE_MINUTES must be a positive integer'],
  ])('refuses %s', (_name, override, message) => {
    // Prepare
    const env = { JOBS_QUEUE_URL: 'q', CLUSTER_NAME: 'c', SERVICE_NAME: 's', STATE_TABLE: 't', MAX_TASKS: '2', JOBS_PER_TASK: '8', IDLE_MINUTES: '15', ...override };

    // Act
    const read = () => scaleFleetConfigFromEnv(env);

    // Assess
    expect(read).toThrow(message);
  });
});

describe('the scaler handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('runs one pass against the queue, service and table its environment names', async () => {
    // Prepare
    given({ visible: 2, inFlight: 0 }, { desired: 0, running: 0 });
    Object.assign(process.env, { AWS_REGION: 'eu-west-1', ...SCALER_ENV });
    // The handler reads its environment when loaded, so it is loaded only now (and only here).
    const { handler } = require('../../lambdas/scaler/handler') as typeof import('../../lambdas/scaler/handler');

    // Act
    const result = await handler({ source: 'aws.events' });

    // Assess
    expect(result).toMatchObject({ desired: 1, visible: 2 });
    expect(ecs).toHaveReceivedCommandWith(UpdateServiceCommand, { cluster: 'gpu', service: 'worker', desiredCount: 1 });
    expect(dynamodb).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'state' });
  });
});
