import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildContainerBundles, EXTERNAL_MODULES, runtimeManifests, type BuildResult, type Lockfile } from '../../inference-container/build';

const REPO_ROOT = resolve(__dirname, '..', '..');

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

  it('give an entrypoint that, started without its environment, says what is missing and exits 1', () => {
    // Act
    const run = runBundle(result.entrypoint);

    // Assess
    expect(run.status).toBe(1);
    const line = JSON.parse(`${run.stdout}${run.stderr}`.trim().split('\n').find((l) => l.startsWith('{'))!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'ERROR', message: 'the entrypoint cannot start', service: 'untxt-entrypoint' });
    expect(line.problems).toEqual(['MODEL_ID is not set', 'MODEL_S3_URI is not set', 'MODEL_MANIFEST_SHA256 is not set']);
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
