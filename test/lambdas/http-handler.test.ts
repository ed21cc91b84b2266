process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
import { createLogger } from '../../local/logger';
import { toLambdaHandler } from '../../lambdas/api/http-handler';
import { ApiError } from '../../src/http/problem';
import { json, type ApiRequest } from '../../src/http/request';
import { proxyEvent } from './support/events';

const logger = createLogger('SILENT');
const USER = '0f8fad5b-d9cb-469f-a165-70867728950e';
const SESSION = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

describe('the Lambda adapter', () => {
  it('hands the core a parsed request with lower-cased headers, the body and the authorizer principal', async () => {
    // Prepare
    let seen: ApiRequest | undefined;
    const handler = toLambdaHandler(async (req) => {
      seen = req;
      return json(200, { ok: true });
    }, () => ({ logger }));
    const event = proxyEvent({
      method: 'POST',
      path: '/v1/tasks',
      headers: { 'User-Agent': 'curl/8' },
      body: { a: 1 },
      principal: { userId: USER, role: 'admin', sessionId: SESSION, mfa: true },
      query: { limit: '5' },
    });
    event.body = Buffer.from(event.body!).toString('base64');
    event.isBase64Encoded = true;

    // Act
    const result = await handler(event);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(seen).toMatchObject({
      method: 'POST',
      path: '/v1/tasks',
      body: { a: 1 },
      query: { limit: '5' },
      headers: { 'user-agent': 'curl/8', 'content-type': 'application/json' },
      userAgent: 'curl/8',
      sourceIp: '203.0.113.7',
      requestId: 'req-test',
      principal: { userId: USER, role: 'admin', sessionId: SESSION, mfa: true },
    });
  });

  it('answers JSON with no-store, nosniff and the request id', async () => {
    // Prepare
    const handler = toLambdaHandler(async () => json(201, { id: 1 }, { location: '/x' }), () => ({ logger }));

    // Act
    const result = await handler(proxyEvent());

    // Assess
    expect(result).toEqual({
      statusCode: 201,
      headers: expect.objectContaining({
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-request-id': 'req-test',
        location: '/x',
      }),
      body: '{"id":1}',
    });
  });

  it("turns a core's ApiError into problem+json and anything else into a 500 without a stack", async () => {
    // Prepare
    const refusing = toLambdaHandler(async () => {
      throw new ApiError({ status: 409, code: 'email_taken', detail: 'taken' });
    }, () => ({ logger }));
    const crashing = toLambdaHandler(async () => {
      throw new TypeError('Cannot read properties of undefined (reading "x")');
    }, () => ({ logger }));

    // Act
    const refused = await refusing(proxyEvent());
    const crashed = await crashing(proxyEvent());

    // Assess
    expect(refused.statusCode).toBe(409);
    expect(refused.headers!['content-type']).toBe('application/problem+json');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'email_taken', detail: 'taken' });
    expect(crashed.statusCode).toBe(500);
    expect(crashed.body).not.toMatch(/Cannot read|TypeError|stack|\.ts/);
    expect(JSON.parse(crashed.body)).toMatchObject({ code: 'internal' });
  });

  it('refuses a body that is not JSON before the core runs', async () => {
    // Prepare
    const core = jest.fn();
    const handler = toLambdaHandler(core, () => ({ logger }));

    // Act
    const result = await handler(proxyEvent({ method: 'POST', body: '{oops', headers: { 'content-type': 'application/json' } }));

    // Assess
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toMatchObject({ code: 'invalid_json' });
    expect(core).not.toHaveBeenCalled();
  });

  it('passes no principal when the authorizer context is malformed', async () => {
    // Prepare
    let seen: ApiRequest | undefined;
    const handler = toLambdaHandler(async (req) => {
      seen = req;
      return json(200, {});
    }, () => ({ logger }));
    const event = proxyEvent();
    event.requestContext.authorizer = { userId: 'x', role: 'root', sessionId: SESSION, mfa: 'true' };

    // Act
    await handler(event);

    // Assess
    expect(seen!.principal).toBeUndefined();
  });

  it('builds dependencies once per container and again after a failed build', async () => {
    // Prepare
    const makeDeps = jest.fn().mockRejectedValueOnce(new Error('secret unreadable')).mockResolvedValue({ logger });
    const handler = toLambdaHandler(async () => json(200, {}), makeDeps);

    // Act
    const statuses = [(await handler(proxyEvent())).statusCode, (await handler(proxyEvent())).statusCode, (await handler(proxyEvent())).statusCode];

    // Assess
    expect(statuses).toEqual([500, 200, 200]);
    expect(makeDeps).toHaveBeenCalledTimes(2);
  });
});
