import { ApiError, notFound, problemResponse, tooManyRequests, unavailable, validationFailed } from '../../src/http/problem';

const silent = { error: jest.fn() };

function bodyOf(response: ReturnType<typeof problemResponse>): Record<string, unknown> {
  return JSON.parse(response.rawBody!.body) as Record<string, unknown>;
}

describe('problem responses', () => {
  it('render an ApiError as RFC 9457 problem+json with its code, detail, field errors and request id', () => {
    // Prepare
    const error = validationFailed([{ field: 'email', message: 'is required' }]);

    // Act
    const response = problemResponse(error, 'req-1');

    // Assess
    expect(response.status).toBe(400);
    expect(response.rawBody!.contentType).toBe('application/problem+json');
    expect(bodyOf(response)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      code: 'validation_failed',
      detail: 'The request is not valid.',
      errors: [{ field: 'email', message: 'is required' }],
      instance: 'urn:request:req-1',
      requestId: 'req-1',
    });
  });

  it('turn an unexpected error into a bare 500 that carries neither its message nor a stack', () => {
    // Prepare
    const error = new Error('relation "users" does not exist at /srv/app/secret.ts:12');
    const log = { error: jest.fn() };

    // Act
    const response = problemResponse(error, 'req-2', log);

    // Assess
    const text = response.rawBody!.body;
    expect(response.status).toBe(500);
    expect(bodyOf(response)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      code: 'internal',
      instance: 'urn:request:req-2',
      requestId: 'req-2',
    });
    expect(text).not.toMatch(/relation|secret|stack|at \//);
    expect(log.error).toHaveBeenCalledWith('Request failed', { error: { name: 'Error', message: error.message } });
  });

  it('answer 503 with Retry-After while the database cannot be reached', () => {
    // Prepare
    const error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

    // Act
    const response = problemResponse(error, 'req-3', silent);

    // Assess
    expect(response.status).toBe(503);
    expect(response.headers).toEqual({ 'retry-after': '15' });
    expect(bodyOf(response)).toMatchObject({ code: 'unavailable' });
  });

  it('carry Retry-After on 429, rounded up to whole seconds', () => {
    // Act
    const response = problemResponse(tooManyRequests(12.2, 'quota_exceeded'), 'req-4');

    // Assess
    expect(response.status).toBe(429);
    expect(response.headers).toEqual({ 'retry-after': '13' });
    expect(bodyOf(response)).toMatchObject({ code: 'quota_exceeded' });
  });

  it('keep the constructors stable: not found, unavailable', () => {
    // Act
    const errors = [notFound(), unavailable(20)];

    // Assess
    expect(errors.map((e) => [e.status, e.code, e.headers])).toEqual([
      [404, 'not_found', {}],
      [503, 'unavailable', { 'retry-after': '20' }],
    ]);
    expect(errors.every((e) => e instanceof ApiError)).toBe(true);
  });
});
