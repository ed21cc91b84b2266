import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildContainerBundles, EXTERNAL_MODULES, runtimeManifests, type BuildResult, type Lockfile } from '../../inference-container/build';
import { MANIFEST_NAME, serializeManifest, sha256Hex } from '../../inference-container/src/weights';

const REPO_ROOT = resolve(__dirname, '..', '..');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

describe('the container bundles', () => {
  let outDir: string;
  let result: BuildResult;

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'untxt-container-build-'));
    result = await buildContainerBundles(outDir);
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  /** Runs a bundle with nothing but PATH (and where to find the runtime packages). */
  function runBundle(file: string) {
    return spawnSync(process.execPath, [file], {
      env: { PATH: process.env.PATH, NODE_PATH: join(REPO_ROOT, 'node_modules'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      encoding: 'utf8',
      timeout: 30_000,
    });
  }

  it('are both built, with the runtime packages pinned to the repository lockfile', () => {
    // Prepare
    const rootLock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;

    // Assess
    expect(existsSync(result.entrypoint) && existsSync(result.worker)).toBe(true);
    for (const [name, version] of Object.entries(result.runtimePackages)) {
      expect(rootLock.packages[`node_modules/${name}`]?.version).toBe(version);
    }
    const lock = JSON.parse(readFileSync(join(outDir, 'package-lock.json'), 'utf8')) as Lockfile;
    expect(Object.keys(lock.packages)).toEqual(expect.arrayContaining(['node_modules/@napi-rs/canvas', 'node_modules/@img/sharp-linux-x64', 'node_modules/tesseract.js-core']));
  });

  it('leave the native and asset-reading packages out of the bundles', () => {
    // Prepare
    const worker = readFileSync(result.worker, 'utf8');

    // Assess: each is a require of the package, not its inlined code.
    for (const name of ['sharp', 'tesseract.js', 'pdfjs-dist/legacy/build/pdf.mjs']) expect(worker).toContain(`require("${name}")`);
    expect(EXTERNAL_MODULES).toEqual(expect.arrayContaining(['@napi-rs/canvas', 'pg-native']));
  });

  it('give an entrypoint that loads none of the worker’s native or OCR packages', () => {
    // Prepare
    const entrypoint = readFileSync(result.entrypoint, 'utf8');

    // Assess: it shares constants with the worker (the page pixel bound) without its rasterizer.
    for (const name of EXTERNAL_MODULES) expect(entrypoint).not.toContain(`require("${name}`);
  });

  it('give an entrypoint that, started without its environment, says what is missing and exits 1', () => {
    // Act
    const run = runBundle(result.entrypoint);

    // Assess
    expect(run.status).toBe(1);
    const line = JSON.parse(`${run.stdout}${run.stderr}`.trim().split('\n').find((l) => l.startsWith('{'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'ERROR', message: 'the entrypoint cannot start', service: 'untxt-entrypoint' });
    expect(line.problems).toEqual(['MODEL_ID is not set', 'MODEL_S3_URI is not set', 'MODEL_MANIFEST_SHA256 is not set']);
  });

  it('give an entrypoint that fetches the weights from S3, runs vLLM and the worker, and on SIGTERM exits with the worker’s status', async () => {
    // Prepare: a stand-in S3 (path-style GETs, as the SDK sends to an IP endpoint) holding a staged model.
    const config = Buffer.from('{"model_type":"qwen3_vl"}');
    const manifest = serializeManifest([{ path: 'config.json', size: config.length, sha256: sha256Hex(config) }]);
    const objects = new Map([
      ['/models-bucket/qwen/config.json', config],
      [`/models-bucket/qwen/${MANIFEST_NAME}`, Buffer.from(manifest)],
    ]);
    const s3: Server = createServer((req, res) => {
      const body = objects.get((req.url ?? '').split('?')[0]!);
      if (body) res.writeHead(200, { 'content-length': body.length }).end(body);
      else res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code></Error>');
    });
    await new Promise<void>((done) => s3.listen(0, '127.0.0.1', done));
    const work = mkdtempSync(join(tmpdir(), 'untxt-container-e2e-'));
    const events = join(work, 'events');
    writeFileSync(events, '');
    const support = join(__dirname, 'support');
    const entrypoint = spawn(process.execPath, [result.entrypoint], {
      env: {
        PATH: process.env.PATH,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        AWS_REGION: 'eu-central-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'example',
        AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(s3.address() as AddressInfo).port}`,
        MODEL_ID: 'Qwen/Qwen3-VL-8B-Instruct',
        MODEL_S3_URI: 's3://models-bucket/qwen/',
        MODEL_MANIFEST_SHA256: sha256Hex(manifest),
        MODEL_DIR: join(work, 'models'),
        VLLM_PORT: String(await freePort()),
        VLLM_COMMAND: `${process.execPath} ${join(support, 'fake-vllm.js')}`,
        WORKER_COMMAND: `${process.execPath} ${join(support, 'fake-worker.js')}`,
        EVENTS_FILE: events,
        FAKE_WORKER_EXIT_CODE: '4',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    entrypoint.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    entrypoint.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => entrypoint.on('exit', (code) => done(code)));

    try {
      while (!readFileSync(events, 'utf8').includes('worker:ready')) {
        if (entrypoint.exitCode !== null) throw new Error(`the entrypoint exited early: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }

      // Act
      entrypoint.kill('SIGTERM');
      const code = await exited;

      // Assess
      expect(code).toBe(4);
      expect(readFileSync(events, 'utf8').split('\n').filter((l) => l.endsWith('SIGTERM'))).toEqual(['worker:SIGTERM', 'vllm:SIGTERM']);
      expect(readdirSync(join(work, 'models', sha256Hex(manifest)))).toEqual(['config.json']);
      const messages = output.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { message: string }).message);
      expect(messages).toEqual(expect.arrayContaining(['model weights ready', 'vLLM ready', 'worker started', 'stop requested', 'worker stopped', 'vLLM stopped']));
      expect(output).not.toContain('AKIDEXAMPLE');
    } finally {
      entrypoint.kill('SIGKILL');
      s3.close();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('give a worker that loads all its modules and then stops on the missing environment', () => {
    // Act
    const run = runBundle(result.worker);

    // Assess: reaching the environment check means every require at the top of the bundle resolved.
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/untxt worker failed to start: .*(not set|must be)/);
  });
});

describe('the runtime lockfile', () => {
  const lock: Lockfile = {
    lockfileVersion: 3,
    packages: {
      '': { dependencies: { a: '1.0.0', tool: '1.0.0' } },
      'node_modules/a': { version: '1.0.0', integrity: 'sha512-a', dependencies: { b: '^2.0.0', c: '^1.0.0' }, optionalDependencies: { 'a-win32': '1.0.0', 'a-linux': '1.0.0' } },
      'node_modules/a/node_modules/b': { version: '2.0.0', integrity: 'sha512-b2' },
      'node_modules/b': { version: '1.0.0', integrity: 'sha512-b1', dev: true },
      'node_modules/c': { version: '1.0.0', integrity: 'sha512-c', devOptional: true, peerDependencies: { p: '*' }, peerDependenciesMeta: { p: { optional: true } } },
      'node_modules/a-linux': { version: '1.0.0', integrity: 'sha512-al', optional: true, os: ['linux'] },
      'node_modules/tool': { version: '1.0.0', integrity: 'sha512-t', dev: true },
    },
  };

  it('keeps the roots and what they need, resolved as Node would, without dev markers', () => {
    // Act
    const { packageJson, lockfile } = runtimeManifests(lock, ['a']);

    // Assess
    expect(packageJson.dependencies).toEqual({ a: '1.0.0' });
    expect(Object.keys(lockfile.packages)).toEqual(['', 'node_modules/a', 'node_modules/a-linux', 'node_modules/a/node_modules/b', 'node_modules/c']);
    expect(lockfile.packages['node_modules/c']).not.toHaveProperty('devOptional');
    expect(lockfile.packages['node_modules/a-linux']).toMatchObject({ optional: true, os: ['linux'] });
    expect(lockfile.packages['']).toEqual({ name: 'untxt-inference-runtime', version: '0.0.0', dependencies: { a: '1.0.0' } });
  });

  it('refuses a lockfile that cannot supply a required dependency', () => {
    // Prepare
    const broken: Lockfile = { lockfileVersion: 3, packages: { '': {}, 'node_modules/a': { version: '1.0.0', dependencies: { missing: '1' } } } };

    // Act + Assess
    expect(() => runtimeManifests(broken, ['a'])).toThrow('the lockfile cannot resolve missing for node_modules/a');
  });
});
