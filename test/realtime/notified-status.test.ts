import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { CLAIM_CONDITION, DynamoDbNotifiedStatusStore } from '../../src/realtime/dynamodb-notified-status-store';
import { InMemoryNotifiedStatusStore, mayPassOn, NOTIFIED_STATUS_TTL_SECONDS, type NotifiedStatus } from '../../src/realtime/notified-status';

const TASK = '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const processing = (seq: number, pagesDone: number): NotifiedStatus => ({ seq, status: 'processing', pagesDone });

describe('the notifier\'s seq rule', () => {
  it.each([
    ['a task\'s first status is passed on', undefined, processing(5, 0), true],
    ['a higher seq is passed on', { ...processing(5, 3), delivered: true }, { seq: 6, status: 'completed', pagesDone: 3 }, true],
    ['a lower seq is dropped', { ...processing(5, 0), delivered: false }, { seq: 4, status: 'queued', pagesDone: 0 }, false],
    ['more pages under the same seq are passed on', { ...processing(5, 1), delivered: true }, processing(5, 2), true],
    ['fewer pages under the same seq are dropped', { ...processing(5, 2), delivered: false }, processing(5, 1), false],
    ['the same status, once delivered, is dropped', { ...processing(5, 2), delivered: true }, processing(5, 2), false],
    ['the same status, not yet delivered everywhere, is passed on again', { ...processing(5, 2), delivered: false }, processing(5, 2), true],
  ] as const)('%s', (_name, latest, next, expected) => {
    // Act
    const decision = mayPassOn(latest, next);

    // Assess
    expect(decision).toBe(expected);
  });

  it('forgets the tasks passed on longest ago first, in memory', async () => {
    // Prepare
    const store = new InMemoryNotifiedStatusStore(2);
    await store.claim('task-1', processing(9, 0));
    await store.confirm('task-1', processing(9, 0));
    await store.claim('task-2', processing(1, 0));
    await store.claim('task-3', processing(1, 0));

    // Act
    const oldOfForgotten = await store.claim('task-1', processing(2, 0));

    // Assess
    expect(oldOfForgotten).toBe(true);
  });
});

describe('the DynamoDB notified-status store', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const now = new Date('2026-11-29T12:00:00.000Z');
  const store = new DynamoDbNotifiedStatusStore({
    client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-central-1' })),
    tableName: 'notified',
    clock: { now: () => now },
  });
  const conditionFailed = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });

  beforeEach(() => dynamo.reset());

  it('claims with one conditional update that records the status, unconfirmed, for a day', async () => {
    // Prepare
    dynamo.on(UpdateCommand).resolves({});

    // Act
    const claimed = await store.claim(TASK, processing(5, 2));

    // Assess
    expect(claimed).toBe(true);
    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      TableName: 'notified',
      Key: { taskId: TASK },
      ConditionExpression: CLAIM_CONDITION,
      ExpressionAttributeValues: { ':seq': 5, ':status': 'processing', ':pagesDone': 2, ':false': false, ':expiresAt': now.getTime() / 1000 + NOTIFIED_STATUS_TTL_SECONDS },
    });
    expect(input.UpdateExpression).toContain('#delivered = :false');
    expect(input.ExpressionAttributeNames).toMatchObject({ '#expiresAt': 'expiresAt' });
  });

  it('reports a failed condition as not claimed, and lets any other error through', async () => {
    // Prepare
    dynamo.on(UpdateCommand).rejectsOnce(conditionFailed()).rejectsOnce(new Error('throttled'));

    // Act
    const stale = await store.claim(TASK, processing(4, 0));
    const failing = store.claim(TASK, processing(6, 0));

    // Assess
    expect(stale).toBe(false);
    await expect(failing).rejects.toThrow('throttled');
  });

  it('confirms only the status it claimed, and a newer claim since is no error', async () => {
    // Prepare
    dynamo.on(UpdateCommand).rejects(conditionFailed());

    // Act
    const confirming = store.confirm(TASK, processing(5, 2));

    // Assess
    await expect(confirming).resolves.toBeUndefined();
    const input = dynamo.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(input).toMatchObject({
      UpdateExpression: 'SET #delivered = :true',
      ConditionExpression: '#seq = :seq AND #pagesDone = :pagesDone AND #status = :status',
      ExpressionAttributeValues: { ':seq': 5, ':status': 'processing', ':pagesDone': 2, ':true': true },
    });
  });
});
