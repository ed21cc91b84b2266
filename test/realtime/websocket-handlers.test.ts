import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { connectHandler } from '../../lambdas/realtime/connect';
import { disconnectHandler } from '../../lambdas/realtime/disconnect';
import { handler as pingHandler } from '../../lambdas/realtime/ping';
import { wsAuthorizerHandler } from '../../lambdas/realtime/ws-authorizer';
import { ManualClock } from '../../src/adapters/clock';
import { tokenHash } from '../../src/auth/opaque-token';
import { CONNECTION_TTL_SECONDS } from '../../src/realtime/connection-store';
import { DynamoDbConnectionStore } from '../../src/realtime/dynamodb-connection-store';
import { DynamoDbTicketStore } from '../../src/realtime/tickets/dynamodb-ticket-store';
import { InMemoryTicketStore } from '../../src/realtime/tickets/memory-ticket-store';
import { USER_A } from './support/realtime';

const dynamo = mockClient(DynamoDBDocumentClient);
const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-central-1' }));
const METHOD_ARN = 'arn:aws:execute-api:eu-central-1:123456789012:abc123/live/$connect';
const TICKET = 'T'.repeat(43);

function handshake(query: Record<string, string> | null): APIGatewayRequestAuthorizerEvent {
  return {
    type: 'REQUEST',
    methodArn: METHOD_ARN,
    resource: '',
    path: '',
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    pathParameters: null,
    queryStringParameters: query,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

beforeEach(() => dynamo.reset());

describe('the $connect ticket authorizer', () => {
  const clock = new ManualClock(new Date('2026-11-29T12:00:00Z'));
  const tickets = new DynamoDbTicketStore({ client: documentClient, tableName: 'tickets', clock });
  const authorize = wsAuthorizerHandler(() => ({ tickets }));

  it('allows the handshake for the ticket\'s user, using the ticket up by a conditional delete', async () => {
    // Prepare
    dynamo.on(DeleteCommand).resolves({ Attributes: { ticketHash: tokenHash(TICKET), userId: USER_A, expiresAt: 1 } });

    // Act
    const result = await authorize(handshake({ ticket: TICKET }));

    // Assess
    expect(result).toEqual({
      principalId: USER_A,
      policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: METHOD_ARN }] },
      context: { userId: USER_A },
    });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'tickets',
      Key: { ticketHash: tokenHash(TICKET) },
      ConditionExpression: 'attribute_exists(ticketHash) AND expiresAt > :now',
      ExpressionAttributeValues: { ':now': Math.ceil(clock.now().getTime() / 1000) },
    });
  });

  it('refuses a replayed or expired ticket (the conditional delete fails) as Unauthorized', async () => {
    // Prepare
    dynamo.on(DeleteCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    // Act
    const refused = authorize(handshake({ ticket: TICKET }));

    // Assess
    await expect(refused).rejects.toThrow(/^Unauthorized$/);
  });

  it('refuses a missing or malformed ticket without asking DynamoDB', async () => {
    // Act
    const missing = authorize(handshake(null));
    const empty = authorize(handshake({ ticket: '' }));
    const malformed = authorize(handshake({ ticket: 'not-a-ticket' }));

    // Assess
    await expect(missing).rejects.toThrow('Unauthorized');
    await expect(empty).rejects.toThrow('Unauthorized');
    await expect(malformed).rejects.toThrow('Unauthorized');
    expect(dynamo.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('lets a real ticket through once, then refuses its replay and any ticket past its 60 seconds', async () => {
    // Prepare
    const memoryClock = new ManualClock();
    const store = new InMemoryTicketStore(memoryClock);
    const authorizeInMemory = wsAuthorizerHandler(() => ({ tickets: store }));
    const first = await store.issue(USER_A);
    const late = await store.issue(USER_A);

    // Act
    const accepted = await authorizeInMemory(handshake({ ticket: first.ticket }));
    const replay = authorizeInMemory(handshake({ ticket: first.ticket }));
    memoryClock.advance(60_000);
    const expired = authorizeInMemory(handshake({ ticket: late.ticket }));

    // Assess
    expect(accepted.context).toEqual({ userId: USER_A });
    await expect(replay).rejects.toThrow('Unauthorized');
    await expect(expired).rejects.toThrow('Unauthorized');
  });
});

describe('the WebSocket route handlers', () => {
  const clock = new ManualClock(new Date('2026-11-29T12:00:00Z'));
  const connections = new DynamoDbConnectionStore({ client: documentClient, tableName: 'connections' });

  it('$connect stores the connection for the authorizer\'s user, expiring shortly after the two-hour limit', async () => {
    // Prepare
    dynamo.on(PutCommand).resolves({});
    const connect = connectHandler(() => ({ connections, clock }));

    // Act
    const result = await connect({ requestContext: { connectionId: 'L0SM9cOFvHcCIhw=', routeKey: '$connect', authorizer: { userId: USER_A, principalId: USER_A } } });

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'connections',
      Item: { connectionId: 'L0SM9cOFvHcCIhw=', userId: USER_A, expiresAt: clock.now().getTime() / 1000 + CONNECTION_TTL_SECONDS },
    });
    expect(CONNECTION_TTL_SECONDS).toBeGreaterThan(2 * 3600);
    expect(CONNECTION_TTL_SECONDS).toBeLessThanOrEqual(2 * 3600 + 15 * 60);
  });

  it('$connect without a user from the authorizer stores nothing', async () => {
    // Prepare
    const connect = connectHandler(() => ({ connections, clock }));

    // Act
    const attempt = connect({ requestContext: { connectionId: 'L0SM9cOFvHcCIhw=', routeKey: '$connect' } });

    // Assess
    await expect(attempt).rejects.toThrow();
    expect(dynamo.commandCalls(PutCommand)).toHaveLength(0);
  });

  it('$disconnect deletes the connection', async () => {
    // Prepare
    dynamo.on(DeleteCommand).resolves({});
    const disconnect = disconnectHandler(() => ({ connections }));

    // Act
    const result = await disconnect({ requestContext: { connectionId: 'L0SM9cOFvHcCIhw=', routeKey: '$disconnect' } });

    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { TableName: 'connections', Key: { connectionId: 'L0SM9cOFvHcCIhw=' } });
  });

  it('ping answers pong', async () => {
    // Act
    const result = await pingHandler();

    // Assess
    expect(result).toEqual({ statusCode: 200, body: '{"type":"pong"}' });
  });
});
