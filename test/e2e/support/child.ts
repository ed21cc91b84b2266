/**
 * The service as a real process (for kill -9 and Ctrl-C): `npm start`'s entry (local/main.ts) or
 * the test entry (serve.ts), run by node with tsx's loader in one process, so signals reach the
 * server itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, waitFor } from './e2e';

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnService(entry: 'local/main.ts' | 'test/e2e/support/serve.ts', dataDir: string, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', UNTXT_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const found = await waitFor(
    `${entry} to print its URL`,
    async () => (gone ? { exited: true as const } : (/READY (\S+)/.exec(out)?.[1] ?? /API\s+(\S+)\/v1\b/.exec(out)?.[1])),
    120_000,
    100,
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  if (typeof found !== 'string') throw new Error(`${entry} exited before it was ready:\n${out}`);
  const url = found;
  return { child, url, output: () => out, exited };
}
