import { spawn } from 'node:child_process';
import { join } from 'node:path';

describe('a worker process given SIGTERM mid-job', () => {
  it('exits 0 with its lease released, no attempt used, and its message visible again', async () => {
    // Prepare
    const child = spawn(join(__dirname, '../../node_modules/.bin/tsx'), [join(__dirname, 'support/sigterm-child.ts')], {
      env: { ...process.env, UNTXT_TEST_PGLITE_TEMPLATE: process.env.UNTXT_TEST_PGLITE_TEMPLATE ?? '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('ready\n')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await ready;

    // Act
    child.kill('SIGTERM');
    const code = await exited;

    // Assess
    expect(code).toBe(0);
    const state = JSON.parse(out.trim().split('\n').pop()!) as {
      status: string;
      attempts: number;
      leaseToken: string | null;
      pagesDone: number;
      depth: { visible: number; inFlight: number };
    };
    expect(state).toMatchObject({ status: 'processing', attempts: 0, leaseToken: null, depth: { visible: 1, inFlight: 0 } });
    expect(state.pagesDone).toBeGreaterThanOrEqual(1);
  });
});
