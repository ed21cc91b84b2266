import {
  ApiGatewayManagementApiClient,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { systemClock } from '../../src/adapters/clock';
import { DynamoDbNotifiedStatusStore } from '../../src/realtime/dynamodb-notified-status-store';
import { mockClient } from 'aws-sdk-client-mock';
import { notifierHandler } from '../../lambdas/realtime/notifier';
import { ApiGatewayConnectionSender } from '../../src/realtime/api-gateway-sender';
import { DynamoDbConnectionStore } from '../../src/realtime/dynamodb-connection-store';
import { taskStatusMessageSchema } from '../../src/realtime/messages';
import { InMemoryNotifiedStatusStore } from '../../src/realtime/notified-status';
import { InvalidTaskEventError, NotifyError, RecentDeliveries, type NotifierDeps } from '../../src/realtime/notifier';
import { instantRetry, recordingLogger, taskDetail, taskEvent, USER_A, USER_B } from './support/realtime';

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);
const connections = new DynamoDbConnectionStore({
  client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-central-1' })),
  tableName: 'connections',
});
const sender = new ApiGatewayConnectionSender(
  new ApiGatewayManagementApiClient({ region: 'eu-central-1', endpoint: 'https://abc.execute-api.eu-central-1.amazonaws.com/live', maxAttempts: 1 }),
);

/** The index answers each user's connections. */
function connectionsOf(byUser: Record<string, string[]>): void {
  for (const [userId, ids] of Object.entries(byUser)) {
    dynamo
      .on(QueryCommand, { ExpressionAttributeValues: { ':user': userId } })
      .resolves({ Items: ids.map((connectionId) => ({ connectionId, userId })) });
  }
}

const postedTo = (): string[] => management.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input.ConnectionId!);
const framesTo = (connectionId: string): unknown[] =>
  management
    .commandCalls(PostToConnectionCommand)
    .filter((call) => call.args[0].input.ConnectionId === connectionId)
    .map((call) => JSON.parse(Buffer.from(call.args[0].input.Data as Uint8Array).toString('utf8')));

function handlerWith(overrides: Partial<NotifierDeps> = {}) {
  const logger = recordingLogger();
  const retry = instantRetry();
  const deps: NotifierDeps = {
    connections,
    sender,
    logger,
    notified: new InMemoryNotifiedStatusStore(),
    retryTools: retry.tools,
    delivered: new RecentDeliveries(),
    ...overrides,
  };
  return { handler: notifierHandler(() => deps), logger, waits: retry.waits };
}

beforeEach(() => {
  dynamo.reset();
  management.reset();
  dynamo.on(QueryCommand).resolves({ Items: [] });
  dynamo.on(DeleteCommand).resolves({});
  management.on(PostToConnectionCommand).resolves({});
});

describe('the notifier', () => {
  it('posts the task status message to each of the owner\'s 50 connections, all at once', async () => {
    // Prepare
    const ids = Array.from({ length: 50 }, (_, i) => `conn-${i}=`);
    connectionsOf({ [USER_A]: ids });
    let inFlight = 0;
    let mostInFlight = 0;
    management.on(PostToConnectionCommand).callsFake(async () => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return {};
    });
    const detail = taskDetail();
    const { handler } = handlerWith();

    // Act
    const outcome = await handler(taskEvent(detail));

    // Assess
    expect(outcome).toEqual({ sent: 50, gone: 0, skipped: 0 });
    expect(postedTo().sort()).toEqual([...ids].sort());
    expect(mostInFlight).toBe(50);
    expect(framesTo('conn-7=')).toEqual([
      { type: 'task.status', seq: 42, taskId: detail.taskId, status: 'processing', pagesDone: 3, pageCount: 10, at: detail.occurredAt },
    ]);
  });

  it('reads every page of the user index', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [{ connectionId: 'first=' }], LastEvaluatedKey: { connectionId: 'first=', userId: USER_A } })
      .resolvesOnce({ Items: [{ connectionId: 'second=' }] });
    const { handler } = handlerWith();

    // Act
    await handler(taskEvent(taskDetail()));

    // Assess
    const queries = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(2);
    expect(queries[0]).toMatchObject({ TableName: 'connections', IndexName: 'byUserId', ExpressionAttributeValues: { ':user': USER_A } });
    expect(queries[1]!.ExclusiveStartKey).toEqual({ connectionId: 'first=', userId: USER_A });
    expect(postedTo().sort()).toEqual(['first=', 'second=']);
  });

  it('sends a task\'s status only to its owner\'s connections, never to another user\'s', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1=', 'a-2='], [USER_B]: ['b-1='] });
    const { handler } = handlerWith();

    // Act
    await handler(taskEvent(taskDetail({ userId: USER_B })));
    await handler(taskEvent(taskDetail({ userId: USER_A })));

    // Assess
    expect(dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input.ExpressionAttributeValues)).toEqual([
      { ':user': USER_B },
      { ':user': USER_A },
    ]);
    expect(postedTo()).toEqual(['b-1=', 'a-1=', 'a-2=']);
  });

  it('never puts the owner\'s id, the previous status or anything beyond the contract into a message', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1='] });
    const { handler } = handlerWith();

    // Act
    await handler(taskEvent(taskDetail({ status: 'failed', previousStatus: 'processing', errorCode: 'ocr_failed' })));

    // Assess
    const [frame] = framesTo('a-1=');
    expect(taskStatusMessageSchema.parse(frame)).toEqual(frame);
    expect(Object.keys(frame as object).sort()).toEqual(['at', 'errorCode', 'pageCount', 'pagesDone', 'seq', 'status', 'taskId', 'type']);
    expect(JSON.stringify(frame)).not.toContain(USER_A);
  });

  it('deletes the connections that are gone and still reaches the others', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['live-1=', 'gone-1=', 'live-2=', 'gone-2='] });
    management.on(PostToConnectionCommand, { ConnectionId: 'gone-1=' }).rejects(new GoneException({ message: 'gone', $metadata: { httpStatusCode: 410 } }));
    management.on(PostToConnectionCommand, { ConnectionId: 'gone-2=' }).rejects(Object.assign(new Error('Gone'), { $metadata: { httpStatusCode: 410 } }));
    const { handler } = handlerWith();

    // Act
    const outcome = await handler(taskEvent(taskDetail()));

    // Assess
    expect(outcome).toEqual({ sent: 2, gone: 2, skipped: 0 });
    expect(dynamo.commandCalls(DeleteCommand).map((call) => call.args[0].input).sort((a, b) => String(a.Key!.connectionId).localeCompare(String(b.Key!.connectionId)))).toEqual([
      { TableName: 'connections', Key: { connectionId: 'gone-1=' } },
      { TableName: 'connections', Key: { connectionId: 'gone-2=' } },
    ]);
  });

  it('retries a throttled or failing post with growing, jittered, capped waits until it goes through', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['busy='] });
    management
      .on(PostToConnectionCommand)
      .rejectsOnce(new LimitExceededException({ message: 'slow down', $metadata: { httpStatusCode: 429 } }))
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }))
      .rejectsOnce(Object.assign(new Error('Internal'), { name: 'InternalServerErrorException', $metadata: { httpStatusCode: 500 } }))
      .rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      .resolves({});
    const { handler, waits } = handlerWith({ retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 300 } });

    // Act
    const outcome = await handler(taskEvent(taskDetail()));

    // Assess
    expect(outcome).toEqual({ sent: 1, gone: 0, skipped: 0 });
    expect(management.commandCalls(PostToConnectionCommand)).toHaveLength(5);
    expect(waits).toEqual([99, 199, 299, 299]);
  });

  it('fails the invocation when throttling outlasts the retries, after reaching every other connection', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['ok-1=', 'stuck=', 'ok-2='] });
    management.on(PostToConnectionCommand, { ConnectionId: 'stuck=' }).rejects(new LimitExceededException({ message: 'slow down', $metadata: { httpStatusCode: 429 } }));
    const { handler, logger } = handlerWith();

    // Act
    const failure = await handler(taskEvent(taskDetail())).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(NotifyError);
    expect(failure).toMatchObject({ failed: 1, outcome: { sent: 2, gone: 0, skipped: 0 } });
    expect(postedTo().filter((id) => id === 'stuck=')).toHaveLength(5);
    expect(logger.lines.find((l) => l.level === 'error')?.data).toMatchObject({ connections: 3, sent: 2, failed: 1 });
  });

  it('on a retry of the same event, posts again only to the connections the first try did not reach', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['ok-1=', 'flaky=', 'ok-2='] });
    management
      .on(PostToConnectionCommand, { ConnectionId: 'flaky=' })
      .rejects(new ForbiddenException({ message: 'denied for now', $metadata: { httpStatusCode: 403 } }));
    const { handler } = handlerWith();
    const event = taskEvent(taskDetail());
    await expect(handler(event)).rejects.toBeInstanceOf(NotifyError);
    management.on(PostToConnectionCommand, { ConnectionId: 'flaky=' }).resolves({});
    management.resetHistory();

    // Act
    const outcome = await handler(event);

    // Assess
    expect(outcome).toEqual({ sent: 1, gone: 0, skipped: 2 });
    expect(postedTo()).toEqual(['flaky=']);
  });

  it('does not retry an error that another try would not fix', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['denied='] });
    management.on(PostToConnectionCommand).rejects(new ForbiddenException({ message: 'no permission', $metadata: { httpStatusCode: 403 } }));
    const { handler, waits } = handlerWith();

    // Act
    const failure = await handler(taskEvent(taskDetail())).catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(NotifyError);
    expect((failure as NotifyError).cause).toBeInstanceOf(ForbiddenException);
    expect(management.commandCalls(PostToConnectionCommand)).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('posts a progress update that shares its seq with the move to processing, as a separate event', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1='] });
    const { handler } = handlerWith();
    const taskId = taskDetail().taskId;

    // Act
    await handler(taskEvent(taskDetail({ taskId, seq: 7, pagesDone: 0 })));
    await handler(taskEvent(taskDetail({ taskId, seq: 7, pagesDone: 1 })));

    // Assess
    expect(framesTo('a-1=').map((m) => (m as { pagesDone: number }).pagesDone)).toEqual([0, 1]);
  });

  it('drops an event older than the last status it passed on for the task, and a duplicate of one delivered', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1='] });
    const { handler } = handlerWith();
    const taskId = taskDetail().taskId;
    const arrivals = [
      taskDetail({ taskId, seq: 5, status: 'processing', pagesDone: 0 }),
      taskDetail({ taskId, seq: 3, status: 'queued', pagesDone: 0 }),
      taskDetail({ taskId, seq: 5, status: 'processing', pagesDone: 2 }),
      taskDetail({ taskId, seq: 5, status: 'processing', pagesDone: 1 }),
      taskDetail({ taskId, seq: 5, status: 'processing', pagesDone: 2 }),
      taskDetail({ taskId, seq: 9, status: 'completed', pagesDone: 10 }),
      taskDetail({ taskId, seq: 9, status: 'completed', pagesDone: 10 }),
      taskDetail({ taskId, seq: 6, status: 'processing', pagesDone: 4 }),
    ];

    // Act
    const outcomes = [];
    for (const detail of arrivals) outcomes.push(await handler(taskEvent(detail)));

    // Assess
    expect(framesTo('a-1=').map((m) => { const { seq, status, pagesDone } = m as { seq: number; status: string; pagesDone: number }; return [seq, status, pagesDone]; })).toEqual([
      [5, 'processing', 0],
      [5, 'processing', 2],
      [9, 'completed', 10],
    ]);
    expect(outcomes.map((o) => 'stale' in o)).toEqual([false, true, false, true, true, false, true, true]);
  });

  it('keeps the rule per task: an older seq of another task is still delivered', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1='] });
    const { handler } = handlerWith();

    // Act
    await handler(taskEvent(taskDetail({ seq: 50 })));
    await handler(taskEvent(taskDetail({ seq: 4 })));

    // Assess
    expect(framesTo('a-1=').map((m) => (m as { seq: number }).seq)).toEqual([50, 4]);
  });

  it('still posts a retried event that did not reach every connection (at least once), then drops its duplicates', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['ok=', 'flaky='] });
    management
      .on(PostToConnectionCommand, { ConnectionId: 'flaky=' })
      .rejects(new ForbiddenException({ message: 'denied for now', $metadata: { httpStatusCode: 403 } }));
    // A retry that lands on another instance: nothing remembered of which connections were reached.
    const { handler } = handlerWith({ delivered: undefined });
    const detail = taskDetail();
    await expect(handler(taskEvent(detail))).rejects.toBeInstanceOf(NotifyError);
    management.on(PostToConnectionCommand, { ConnectionId: 'flaky=' }).resolves({});
    management.resetHistory();

    // Act
    const retried = await handler(taskEvent(detail));
    const duplicate = await handler(taskEvent(detail));

    // Assess
    expect(retried).toEqual({ sent: 2, gone: 0, skipped: 0 });
    expect(duplicate).toEqual({ stale: true });
    expect(postedTo().sort()).toEqual(['flaky=', 'ok=']);
  });

  it('in AWS, asks DynamoDB to pass the status on with a conditional write, and posts nothing when the condition fails', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1='] });
    dynamo.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } }));
    const notified = new DynamoDbNotifiedStatusStore({
      client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-central-1' })),
      tableName: 'notified',
      clock: systemClock,
    });
    const { handler, logger } = handlerWith({ notified });
    const detail = taskDetail();

    // Act
    const outcome = await handler(taskEvent(detail));

    // Assess
    expect(outcome).toEqual({ stale: true });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(1);
    expect(dynamo.commandCalls(UpdateCommand)[0]!.args[0].input).toMatchObject({ TableName: 'notified', Key: { taskId: detail.taskId } });
    expect(postedTo()).toEqual([]);
    expect(logger.lines).toContainEqual(expect.objectContaining({ level: 'info', message: 'Dropped a stale or duplicate task status' }));
  });

  it('refuses an event whose detail breaks the schema (an extra field such as a file name), posting nothing', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1='] });
    const { handler } = handlerWith();

    // Act
    const withFilename = handler(taskEvent({ ...taskDetail(), filename: 'scan.pdf' }));
    const notAUuid = handler(taskEvent({ ...taskDetail(), userId: 'everyone' }));

    // Assess
    await expect(withFilename).rejects.toBeInstanceOf(InvalidTaskEventError);
    await expect(notAUuid).rejects.toBeInstanceOf(InvalidTaskEventError);
    expect(dynamo.commandCalls(QueryCommand)).toHaveLength(0);
    expect(postedTo()).toEqual([]);
  });

  it('ignores an event that is not a task status change', async () => {
    // Prepare
    connectionsOf({ [USER_A]: ['a-1='] });
    const { handler } = handlerWith();

    // Act
    const outcome = await handler(taskEvent(taskDetail(), { source: 'someone.else' }));

    // Assess
    expect(outcome).toEqual({ ignored: true });
    expect(postedTo()).toEqual([]);
  });
});
