/**
 * The one way the local server splits an HTTP request target, shared by the router and the object
 * store's handler so both see the same path for the same request.
 *
 * The path is returned exactly as sent (still percent-encoded, dot segments kept): routes must not
 * match a normalised path that differs from the raw one the object store signs. Absolute-form
 * targets (`PUT http://host/s3/bucket/key`, legal in HTTP/1.1) lose their scheme and authority,
 * so they reach the same handler, with the same path, as the origin form.
 */
export function splitRequestTarget(target: string): { path: string; rawQuery: string } {
  const relative = target.startsWith('/') ? target : target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, '') || '/';
  const queryStart = relative.indexOf('?');
  return queryStart === -1
    ? { path: relative, rawQuery: '' }
    : { path: relative.slice(0, queryStart), rawQuery: relative.slice(queryStart + 1) };
}
