import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { ManualClock } from '../../../src/adapters/clock';
import { wsTicketCore } from '../../../src/api/ws-ticket/ws-ticket';
import { tokenHash } from '../../../src/auth/opaque-token';
import type { Principal } from '../../../src/http/request';
import { DynamoDbTicketStore } from '../../../src/realtime/tickets/dynamodb-ticket-store';
import { InMemoryTicketStore } from '../../../src/realtime/tickets/memory-ticket-store';
import { run } from '../support/api-harness';
import { openTaskHarness, signedInUser, type TaskHarness } from './task-harness';

const USER = '5b0c7a4e-1f3d-4c8e-9a2b-6d7e8f9a0b1c';

describe('the in-memory ticket store', () => {
  it('hands a ticket\'s user out once, and refuses the replay', async () => {
    // Prepare
    const store = new InMemoryTicketStore(new ManualClock());
    const { ticket } = await store.issue(USER);

    // Act
    const first = await store.consume(ticket);
    const replay = await store.consume(ticket);

    // Assess
    expect(first).toEqual({ userId: USER });
    expect(replay).toBeNull();
  });

  it('refuses a ticket at its 60th second and keeps no more than what is pending', async () => {
    // Prepare
    const clock = new ManualClock();
    const store = new InMemoryTicketStore(clock);
    const { ticket, expiresAt } = await store.issue(USER);
    clock.advance(60_000);

    // Act
    const late = await store.consume(ticket);
    await store.issue(USER);

    // Assess
    expect(expiresAt.getTime() - new ManualClock().now().getTime()).toBe(60_000);
    expect(late).toBeNull();
    expect(store.size).toBe(1);
  });

  it('refuses a malformed or unknown ticket', async () => {
    // Prepare
    const store = new InMemoryTicketStore(new ManualClock());

    // Act & Assess
    expect(await store.consume('short')).toBeNull();
    expect(await store.consume('A'.repeat(43))).toBeNull();
  });
});

describe('the DynamoDB ticket store', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const clock = new ManualClock(new Date('2026-11-29T12:00:00.250Z'));
  const store = new DynamoDbTicketStore({ client: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-central-1' })), tableName: 'tickets', clock });

  beforeEach(() => dynamo.reset());

  it('stores only the ticket\'s hash, the user and a TTL 60 seconds ahead, never overwriting', async () => {
    // Prepare
    dynamo.on(PutCommand).resolves({});

    // Act
    const { ticket, expiresAt } = await store.issue(USER);

    // Assess
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(expiresAt.toISOString()).toBe('2026-11-29T12:01:00.250Z');
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'tickets',
      Item: { ticketHash: tokenHash(ticket), userId: USER, expiresAt: Math.ceil(expiresAt.getTime() / 1000) },
      ConditionExpression: 'attribute_not_exists(ticketHash)',
    });
    expect(JSON.stringify(dynamo.commandCalls(PutCommand)[0]!.args[0].input)).not.toContain(ticket);
  });

  it('uses a ticket up with a delete conditioned on existence and expiry', async () => {
    // Prepare
    dynamo.on(DeleteCommand).resolves({ Attributes: { ticketHash: 'h', userId: USER, expiresAt: 1 } });
    const ticket = 'T'.repeat(43);

    // Act
    const consumed = await store.consume(ticket);

    // Assess
    expect(consumed).toEqual({ userId: USER });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'tickets',
      Key: { ticketHash: tokenHash(ticket) },
      ConditionExpression: 'attribute_exists(ticketHash) AND expiresAt > :now',
      ExpressionAttributeValues: { ':now': Math.ceil(clock.now().getTime() / 1000) },
      ReturnValues: 'ALL_OLD',
    });
  });

  it('refuses a used, unknown or expired ticket (the condition fails)', async () => {
    // Prepare
    dynamo.on(DeleteCommand).rejects(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }));

    // Act
    const replay = await store.consume('R'.repeat(43));

    // Assess
    expect(replay).toBeNull();
  });

  it('asks DynamoDB nothing about a malformed ticket', async () => {
    // Act
    const result = await store.consume('not a ticket');

    // Assess
    expect(result).toBeNull();
    expect(dynamo).not.toHaveReceivedCommand(DeleteCommand);
  });

  it('passes other DynamoDB failures on', async () => {
    // Prepare
    dynamo.on(DeleteCommand).rejects(new Error('throttled'));

    // Act & Assess
    await expect(store.consume('E'.repeat(43))).rejects.toThrow('throttled');
  });
});

describe('the ws-ticket route', () => {
  let h: TaskHarness;
  let alice: Principal;

  beforeAll(async () => {
    h = await openTaskHarness({});
    alice = await signedInUser(h);
  });

  afterAll(() => h.dispose());

  it('answers the WebSocket URL with a ticket that the store hands out once, for the caller', async () => {
    // Act
    const response = await run(wsTicketCore, h.deps, { principal: alice });

    // Assess
    expect(response.status).toBe(200);
    const url = new URL(String(response.body.url));
    expect(`${url.origin}${url.pathname}`).toBe('wss://ws.example.test/prod');
    const ticket = url.searchParams.get('ticket')!;
    expect(new Date(String(response.body.expiresAt)).getTime() - h.clock.now().getTime()).toBe(60_000);
    expect(await h.deps.tickets.consume(ticket)).toEqual({ userId: alice.userId });
    expect(await h.deps.tickets.consume(ticket)).toBeNull();
  });

  it('accepts an empty object and refuses unknown fields', async () => {
    // Act
    const empty = await run(wsTicketCore, h.deps, { principal: alice, body: {} });
    const extra = await run(wsTicketCore, h.deps, { principal: alice, body: { userId: USER } });

    // Assess
    expect(empty.status).toBe(200);
    expect(extra.status).toBe(400);
  });

  it('answers 401 without a principal', async () => {
    // Act
    const response = await run(wsTicketCore, h.deps, {});

    // Assess
    expect(response.status).toBe(401);
  });
});
