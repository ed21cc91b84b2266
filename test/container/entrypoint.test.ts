import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTAINER_STOP_TIMEOUT } from '../../lib/gpu-capacity';
import { SHUTDOWN_BUDGET_MS } from '../../inference-container/src/lifecycle';
import { DEFAULT_MAX_PAGE_PIXELS } from '../../src/pipeline/rasterize';
import {
  ConfigError,
  entrypointConfigFromEnv,
  runEntrypoint,
  vllmArgs,
  VLLM_STOP_GRACE_MS,
  WORKER_STOP_MS,
  type EntrypointConfig,
  type EntrypointDeps,
  type EntrypointLogger,
} from '../../inference-container/src/entrypoint-core';
import { spawnChild } from '../../inference-container/src/entrypoint-process';
import { WeightsError, type FetchWeightsResult } from '../../inference-container/src/weights';

const FAKE_VLLM = join(__dirname, 'support', 'fake-vllm.js');
const FAKE_WORKER = join(__dirname, 'support', 'fake-worker.js');
const PIN = 'ab'.repeat(32);

interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

let dir: string;
let events: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'untxt-entrypoint-'));
  events = join(dir, 'events');
  writeFileSync(events, '');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function eventLines(): string[] {
  return readFileSync(events, 'utf8').split('\n').filter((l) => l !== '');
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

async function config(overrides: Partial<EntrypointConfig> = {}): Promise<EntrypointConfig> {
  const port = await freePort();
  return {
    ...entrypointConfigFromEnv(
      { MODEL_ID: 'Qwen/Qwen3-VL-8B-Instruct', MODEL_S3_URI: 's3://models-bucket/qwen/', MODEL_MANIFEST_SHA256: PIN, VLLM_PORT: String(port) },
      [process.execPath, FAKE_WORKER],
    ),
    vllmCommand: [process.execPath, FAKE_VLLM],
    ...overrides,
  };
}

function harness(env: NodeJS.ProcessEnv = {}) {
  const logs: LogLine[] = [];
  const log =
    (level: LogLine['level']) =>
    (message: unknown, attributes?: unknown): void => {
      logs.push({ level, message: String(message), attributes: (attributes ?? {}) as Record<string, unknown> });
    };
  const logger = { info: log('info'), warn: log('warn'), error: log('error') } as unknown as EntrypointLogger;
  const signals = new EventEmitter();
  const weights: FetchWeightsResult = { folder: join(dir, 'models', PIN), files: 1, downloaded: 1, reused: 0, bytesDownloaded: 1, removedFolders: 0 };
  const deps: EntrypointDeps = {
    logger,
    fetchWeights: async () => weights,
    spawn: spawnChild,
    fetch,
    signals: signals as unknown as EntrypointDeps['signals'],
    env: { PATH: process.env.PATH, EVENTS_FILE: events, ...env },
    pollIntervalMs: 50,
    stopGraceMs: 5_000,
  };
  return { deps, logs, signals };
}

describe('the container entrypoint', () => {
  it('starts the worker once vLLM serves the model, and tells it where vLLM is', async () => {
    // Prepare
    const cfg = await config();
    const { deps, logs, signals } = harness({ FAKE_VLLM_READY_AFTER_MS: '300' });

    // Act
    const run = runEntrypoint(cfg, deps);
    await until(() => eventLines().includes('worker:ready'));
    signals.emit('SIGTERM');
    const code = await run;

    // Assess
    expect(code).toBe(0);
    expect(logs.map((l) => l.message)).toEqual(expect.arrayContaining(['vLLM ready', 'worker started']));
    expect(logs.findIndex((l) => l.message === 'vLLM ready')).toBeLessThan(logs.findIndex((l) => l.message === 'worker started'));
    expect(eventLines()).toContain(`worker:base-url http://127.0.0.1:${cfg.port}/v1`);
  });

  it('gives up after the readiness timeout with a clear log line, stops vLLM and exits non-zero', async () => {
    // Prepare
    const cfg = await config({ readyTimeoutSeconds: 1 });
    const { deps, logs } = harness({ FAKE_VLLM_MODE: 'never' });

    // Act
    const code = await runEntrypoint(cfg, deps);

    // Assess
    expect(code).not.toBe(0);
    const timeout = logs.find((l) => l.message === 'vLLM was not ready in time; stopping it');
    expect(timeout).toMatchObject({ level: 'error', attributes: { timeoutSeconds: 1, reason: '/health answered 503' } });
    expect(eventLines()).toContain('vllm:SIGTERM');
    expect(eventLines().some((l) => l.startsWith('worker:'))).toBe(false);
  });

  it('exits with vLLM’s own exit code when vLLM dies before it is ready', async () => {
    // Prepare
    const cfg = await config();
    const { deps, logs } = harness({ FAKE_VLLM_MODE: 'exit', FAKE_VLLM_EXIT_CODE: '7' });

    // Act
    const code = await runEntrypoint(cfg, deps);

    // Assess
    expect(code).toBe(7);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'vLLM exited before it was ready', attributes: expect.objectContaining({ exitCode: 7 }) }));
    expect(eventLines().some((l) => l.startsWith('worker:'))).toBe(false);
  });

  it('forwards SIGTERM to the worker first, stops vLLM only after the worker exited, and exits with the worker’s status', async () => {
    // Prepare
    const cfg = await config();
    const { deps, signals } = harness({ FAKE_WORKER_EXIT_CODE: '5' });
    const run = runEntrypoint(cfg, deps);
    await until(() => eventLines().includes('worker:ready'));

    // Act
    signals.emit('SIGTERM');
    const code = await run;

    // Assess
    expect(code).toBe(5);
    const signalsSeen = eventLines().filter((l) => l.endsWith('SIGTERM'));
    expect(signalsSeen).toEqual(['worker:SIGTERM', 'vllm:SIGTERM']);
  });

  it('counts a worker that the stop signal ended before it installed its handler as a clean stop', async () => {
    // Prepare
    const cfg = await config();
    const { deps, logs, signals } = harness({ FAKE_WORKER_NO_HANDLER: '1' });
    const run = runEntrypoint(cfg, deps);
    await until(() => eventLines().includes('worker:ready'));

    // Act
    signals.emit('SIGTERM');
    const code = await run;

    // Assess
    expect(code).toBe(0);
    expect(logs).toContainEqual(expect.objectContaining({ message: 'worker stopped', attributes: { exitCode: null, signal: 'SIGTERM' } }));
    expect(eventLines()).toContain('vllm:SIGTERM');
  });

  it('kills a worker that does not finish draining in time, then stops vLLM', async () => {
    // Prepare
    const cfg = await config();
    const { deps, logs, signals } = harness({ FAKE_WORKER_HANG: '1' });
    deps.workerStopMs = 300;
    const run = runEntrypoint(cfg, deps);
    await until(() => eventLines().includes('worker:ready'));

    // Act
    signals.emit('SIGTERM');
    const code = await run;

    // Assess
    expect(code).toBe(137);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: 'the worker did not stop in time; killing it' }));
    expect(eventLines().filter((l) => l.endsWith('SIGTERM'))).toEqual(['worker:SIGTERM', 'vllm:SIGTERM']);
  });

  it('stops the worker and exits non-zero when vLLM dies while the worker runs', async () => {
    // Prepare
    const cfg = await config();
    const { deps, logs } = harness({ FAKE_VLLM_EXIT_CODE: '9' });
    const run = runEntrypoint(cfg, deps);
    await until(() => eventLines().includes('worker:ready'));

    // Act
    writeFileSync(`${events}.die`, '');
    const code = await run;

    // Assess
    expect(code).toBe(9);
    expect(eventLines()).toEqual(expect.arrayContaining(['vllm:exit 9', 'worker:SIGTERM']));
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'vLLM exited; stopping the worker' }));
  });

  it('stops vLLM and exits non-zero when the worker exits on its own, even with status 0', async () => {
    // Prepare
    const cfg = await config();
    const { deps } = harness({ FAKE_WORKER_EXIT_AFTER_READY: '0' });

    // Act
    const code = await runEntrypoint(cfg, deps);

    // Assess
    expect(code).toBe(1);
    expect(eventLines()).toEqual(expect.arrayContaining(['worker:exit 0', 'vllm:SIGTERM']));
  });

  it('starts nothing and exits 1 when the weights cannot be fetched', async () => {
    // Prepare
    const cfg = await config();
    const { deps, logs } = harness();
    deps.fetchWeights = async () => {
      throw new Error('the model manifest does not match MODEL_MANIFEST_SHA256');
    };

    // Act
    const code = await runEntrypoint(cfg, deps);

    // Assess
    expect(code).toBe(1);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'error', message: 'model weights could not be fetched' }));
    expect(existsSync(`${events}.vllm-args.json`)).toBe(false);
  });

  it('starts nothing and exits 1 with its own log line when the weights fetch stalls or runs out of time', async () => {
    // Prepare
    const cfg = await config({ fetchTimeoutSeconds: 1800, fetchIdleSeconds: 60 });
    const { deps, logs } = harness();
    deps.fetchWeights = async () => {
      throw new WeightsError('stalled', 'no bytes of a model file arrived for 60 s');
    };

    // Act
    const code = await runEntrypoint(cfg, deps);

    // Assess
    expect(code).toBe(1);
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'error',
        message: 'model weights fetch timed out',
        attributes: expect.objectContaining({ error: expect.objectContaining({ code: 'stalled' }), timeoutSeconds: 1800, idleSeconds: 60 }),
      }),
    );
    expect(existsSync(`${events}.vllm-args.json`)).toBe(false);
  });

  it('starts vLLM on the verified folder with the served model name and the flags for page OCR', async () => {
    // Prepare
    const cfg = await config();
    const { deps, signals } = harness();
    const run = runEntrypoint(cfg, deps);
    await until(() => eventLines().includes('worker:ready'));

    // Act
    signals.emit('SIGTERM');
    await run;
    const args = JSON.parse(readFileSync(`${events}.vllm-args.json`, 'utf8')) as string[];

    // Assess
    expect(args.slice(0, 2)).toEqual(['serve', join(dir, 'models', PIN)]);
    expect(args).toEqual(vllmArgs(cfg, join(dir, 'models', PIN)));
  });

  it('keeps its own VLLM_ settings and the task credentials out of vLLM’s environment', async () => {
    // Prepare: vLLM reads VLLM_PORT itself, as the base of its internal ports.
    const cfg = await config();
    const { deps, signals } = harness({ VLLM_PORT: String(cfg.port), VLLM_MAX_PIXELS: '100000', AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/x', MODEL_ID: cfg.modelId });
    const run = runEntrypoint(cfg, deps);
    await until(() => eventLines().includes('worker:ready'));

    // Act
    signals.emit('SIGTERM');
    await run;
    const keys = JSON.parse(readFileSync(`${events}.vllm-env.json`, 'utf8')) as string[];

    // Assess
    expect(keys).toContain('MODEL_ID');
    expect(keys).not.toEqual(expect.arrayContaining(['VLLM_PORT']));
    expect(keys).not.toEqual(expect.arrayContaining(['VLLM_MAX_PIXELS']));
    expect(keys).not.toEqual(expect.arrayContaining(['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']));
  });

  it('stops vLLM and exits 0 when asked to stop while waiting for it', async () => {
    // Prepare
    const cfg = await config();
    const { deps, logs, signals } = harness({ FAKE_VLLM_MODE: 'never' });
    const run = runEntrypoint(cfg, deps);
    await until(() => logs.some((l) => l.message === 'vLLM starting') && existsSync(`${events}.vllm-args.json`));

    // Act
    signals.emit('SIGTERM');
    const code = await run;

    // Assess
    expect(code).toBe(0);
    expect(eventLines()).toEqual(['vllm:SIGTERM']);
  });
});

describe('the entrypoint configuration', () => {
  const base = { MODEL_ID: 'Qwen/Qwen3-VL-8B-Instruct', MODEL_S3_URI: 's3://models-bucket/qwen/', MODEL_MANIFEST_SHA256: PIN.toUpperCase() };

  it('takes the documented defaults, with vLLM’s batch as wide as the worker’s page pool', () => {
    // Act
    const cfg = entrypointConfigFromEnv({ ...base, MAX_PAGES_IN_FLIGHT: '24' }, ['node', '/opt/untxt/worker.js']);

    // Assess
    expect(cfg).toMatchObject({
      manifestSha256: PIN,
      modelDir: '/models',
      readyTimeoutSeconds: 900,
      port: 8000,
      gpuMemoryUtilization: 0.9,
      maxModelLen: 16384,
      maxNumSeqs: 24,
      maxPixels: DEFAULT_MAX_PAGE_PIXELS,
      fetchTimeoutSeconds: 1800,
      fetchIdleSeconds: 60,
      vllmCommand: ['vllm'],
      workerCommand: ['node', '/opt/untxt/worker.js'],
      vllmBaseUrl: 'http://127.0.0.1:8000/v1',
    });
  });

  it('names every missing or malformed variable, without echoing values', () => {
    // Act
    const attempt = () => entrypointConfigFromEnv({ MODEL_S3_URI: 'https://example.com/x', MODEL_MANIFEST_SHA256: 'secret-ish', VLLM_PORT: '70000' }, []);

    // Assess
    expect(attempt).toThrow(ConfigError);
    const message = (() => {
      try {
        attempt();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).toContain('MODEL_ID is not set');
    expect(message).toContain('MODEL_S3_URI must look like s3://bucket/prefix/');
    expect(message).toContain('MODEL_MANIFEST_SHA256 must be 64 hex digits');
    expect(message).toContain('VLLM_PORT must be an integer from 1 to 65535');
    expect(message).not.toContain('secret-ish');
  });

  it('passes video 0, the page pixel bound and the extra arguments to vLLM', () => {
    // Prepare
    const cfg = entrypointConfigFromEnv({ ...base, VLLM_MAX_PIXELS: '1000000', VLLM_EXTRA_ARGS: ' --kv-cache-dtype fp8  --enforce-eager ' }, []);

    // Act
    const args = vllmArgs(cfg, '/models/x');

    // Assess
    expect(JSON.parse(args[args.indexOf('--limit-mm-per-prompt') + 1]!)).toEqual({ image: 1, video: 0 });
    expect(JSON.parse(args[args.indexOf('--mm-processor-kwargs') + 1]!)).toEqual({ max_pixels: 1_000_000, size: { longest_edge: 1_000_000, shortest_edge: 65_536 } });
    expect(args.slice(-3)).toEqual(['--kv-cache-dtype', 'fp8', '--enforce-eager']);
    expect(args).not.toContain('--enable-log-requests');
  });
});

describe('the stop timing', () => {
  it('fits the worker’s drain and vLLM’s exit inside the container’s stop timeout', () => {
    // Assess
    expect(WORKER_STOP_MS + VLLM_STOP_GRACE_MS).toBeLessThan(CONTAINER_STOP_TIMEOUT.toMilliseconds());
  });

  it('leaves the worker at least the 90 s drain it is promised, more than its own shutdown budget', () => {
    // Assess
    expect(WORKER_STOP_MS).toBeGreaterThanOrEqual(90_000);
    expect(SHUTDOWN_BUDGET_MS).toBeLessThan(WORKER_STOP_MS);
  });
});
