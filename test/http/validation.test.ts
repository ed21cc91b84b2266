import { z } from 'zod';
import { parseJsonBody } from '../../src/http/body';
import { ApiError } from '../../src/http/problem';
import { parseBody, parsePathId, parseQuery } from '../../src/http/validation';

function thrown(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

const schema = z.strictObject({ email: z.email(), password: z.string().min(12) });

describe('request validation', () => {
  it('returns the parsed body when it is valid', () => {
    // Act
    const body = parseBody(schema, { body: { email: 'a@example.com', password: 'correct horse battery' } });

    // Assess
    expect(body).toEqual({ email: 'a@example.com', password: 'correct horse battery' });
  });

  it('refuses an unknown field with a 400 naming it', () => {
    // Act
    const error = thrown(() => parseBody(schema, { body: { email: 'a@example.com', password: 'correct horse battery', role: 'admin' } }));

    // Assess
    expect(error.status).toBe(400);
    expect(error.code).toBe('validation_failed');
    expect(error.errors).toEqual([{ field: 'role', message: 'is not a known field' }]);
  });

  it('says which field is missing and which is wrong', () => {
    // Act
    const error = thrown(() => parseBody(schema, { body: { password: 'short' } }));

    // Assess
    expect(error.errors).toEqual([
      { field: 'email', message: 'is required' },
      { field: 'password', message: expect.stringMatching(/12/) },
    ]);
  });

  it('refuses a missing body', () => {
    // Act
    const error = thrown(() => parseBody(schema, { body: undefined }));

    // Assess
    expect(error.errors).toEqual([{ field: '(body)', message: 'a JSON body is required' }]);
  });

  it('refuses unknown query parameters too', () => {
    // Act
    const error = thrown(() => parseQuery(z.strictObject({ limit: z.coerce.number().optional() }), { query: { limt: '5' } }));

    // Assess
    expect(error.errors).toEqual([{ field: 'limt', message: 'is not a known field' }]);
  });

  it('answers a malformed path id exactly like a missing one', () => {
    // Act
    const malformed = thrown(() => parsePathId({ pathParameters: { id: 'not-a-uuid' } }));
    const id = parsePathId({ pathParameters: { id: '0F8FAD5B-D9CB-469F-A165-70867728950E' } });

    // Assess
    expect([malformed.status, malformed.code, malformed.detail]).toEqual([404, 'not_found', 'No such resource.']);
    expect(id).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
  });
});

describe('JSON bodies', () => {
  it('parse JSON declared as application/json', () => {
    // Act
    const body = parseJsonBody('{"a":1}', 'application/json; charset=utf-8');

    // Assess
    expect(body).toEqual({ a: 1 });
  });

  it('treat an empty body as none', () => {
    // Act
    const body = parseJsonBody('', undefined);

    // Assess
    expect(body).toBeUndefined();
  });

  it('refuse invalid JSON, another media type and an oversized body with their own codes', () => {
    // Act
    const codes = [
      thrown(() => parseJsonBody('{"a":', 'application/json')),
      thrown(() => parseJsonBody('a=1', 'application/x-www-form-urlencoded')),
      thrown(() => parseJsonBody('{"a":"xxxxxxxxxx"}', 'application/json', 8)),
    ].map((e) => [e.status, e.code]);

    // Assess
    expect(codes).toEqual([
      [400, 'invalid_json'],
      [415, 'unsupported_media_type'],
      [413, 'payload_too_large'],
    ]);
  });
});
