/**
 * Reading a Lambda's or container's environment, and opening its clients once. Dependency-free,
 * so every bundle (the WebSocket functions too, which must stay free of pg, S3 and SQS) can
 * import it.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** The variable's value; throws naming it when it is unset or empty. */
export function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

/** A positive safe integer; unset or empty gives `fallback`, or throws when there is none. */
export function positiveInt(env: Env, name: string, fallback?: number): number {
  const raw = env[name];
  if ((raw === undefined || raw === '') && fallback !== undefined) return fallback;
  const n = Number(required(env, name));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`environment variable ${name} must be a positive integer`);
  return n;
}

/** `make` runs on the first call only: clients are built when a handler first needs them. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}
