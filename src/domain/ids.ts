const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Ids arrive from URLs and tokens; a malformed one is answered like a missing row (404) rather
 * than a SQL error, so ids cannot be probed by their shape.
 */
export const isUuid = (s: string): boolean => UUID_RE.test(s);
