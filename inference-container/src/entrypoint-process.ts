import { spawn } from 'node:child_process';
import type { ChildExit, ChildHandle, SpawnChild } from './entrypoint-core';

/**
 * Starts a child with the container's stdout/stderr (its logs go where ECS collects them).
 * `ownGroup` puts it in a process group of its own, so the whole tree can be killed at once:
 * vLLM starts engine processes that would otherwise outlive a killed API server.
 */
export const spawnChild: SpawnChild = (argv, options) => {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('empty command');
  const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'inherit', 'inherit'], detached: options.ownGroup });
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A program that cannot be started: report it as a shell would (127, command not found).
    child.once('error', () => resolve({ code: 127, signal: null }));
  });
  const signal = (target: number | undefined, sig: NodeJS.Signals): void => {
    if (target === undefined) return;
    try {
      process.kill(target, sig);
    } catch {
      // Already gone.
    }
  };
  const handle: ChildHandle = {
    pid: child.pid,
    exited,
    kill: (sig) => signal(child.pid, sig),
    killTree: (sig) => signal(options.ownGroup && child.pid !== undefined ? -child.pid : child.pid, sig),
  };
  return handle;
};
