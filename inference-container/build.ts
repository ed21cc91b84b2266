/**
 * Builds what the GPU image runs, into one folder (`/opt/untxt` in the image):
 *
 * - `entrypoint.js` — the container's ENTRYPOINT (src/entrypoint.ts), bundled;
 * - `worker.js` — the worker (src/main.ts), bundled;
 * - `package.json` + `package-lock.json` — the packages left out of the bundles because they
 *   carry native code or read their own files at run time (sharp, pdf.js with its
 *   @napi-rs/canvas, tesseract.js and its language data), pinned to the versions and integrity
 *   hashes of the repository's lockfile, for `npm ci --omit=dev` beside the bundles.
 *
 * Usage: `tsx inference-container/build.ts [out-dir]` (default `dist/inference-container`).
 * The Dockerfile runs it in its builder stage; test/container/build.test.ts runs it too.
 */
import { build, type BuildOptions } from 'esbuild';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Installed beside the bundles, from the lockfile. */
export const RUNTIME_PACKAGES = ['sharp', 'pdfjs-dist', 'tesseract.js', '@tesseract.js-data/eng', '@tesseract.js-data/deu'] as const;

/**
 * Not bundled. `@napi-rs/canvas` comes with pdfjs-dist (never a second copy: two canvases
 * crash); `pg-native` is an optional import of `pg` that is never installed.
 */
export const EXTERNAL_MODULES = [...RUNTIME_PACKAGES, '@napi-rs/canvas', 'pg-native'];

export interface BuildResult {
  entrypoint: string;
  worker: string;
  runtimePackages: Record<string, string>;
}

const CONTAINER_DIR = __dirname;
const REPO_ROOT = resolve(CONTAINER_DIR, '..');

export async function buildContainerBundles(outDir: string): Promise<BuildResult> {
  await mkdir(outDir, { recursive: true });
  const common: BuildOptions = {
    bundle: true,
    platform: 'node',
    // The image's Node (the builder stage's node:22); the code also runs on the local Node 20.
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: EXTERNAL_MODULES,
    logLevel: 'warning',
    // The AWS SDK and others ship ES module builds that esbuild picks; keep `main` first so
    // CommonJS builds are used, as Node itself would.
    mainFields: ['main', 'module'],
  };
  const entrypoint = join(outDir, 'entrypoint.js');
  const worker = join(outDir, 'worker.js');
  await Promise.all([
    build({ ...common, entryPoints: [join(CONTAINER_DIR, 'src', 'entrypoint.ts')], outfile: entrypoint }),
    build({ ...common, entryPoints: [join(CONTAINER_DIR, 'src', 'main.ts')], outfile: worker }),
  ]);

  const rootLock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const { packageJson, lockfile } = runtimeManifests(rootLock, RUNTIME_PACKAGES);
  await writeFile(join(outDir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  await writeFile(join(outDir, 'package-lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);
  return { entrypoint, worker, runtimePackages: packageJson.dependencies };
}

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  link?: boolean;
  [key: string]: unknown;
}

export interface Lockfile {
  name?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

/**
 * A package.json and a lockfile (v3) for just `roots` and everything they depend on, copied from
 * the repository's lockfile entry by entry (versions, tarball URLs, integrity hashes, platform
 * fields), so `npm ci` installs exactly what the tests ran against. Optional platform packages of
 * every platform stay listed, as npm writes them; npm installs only the matching ones.
 */
export function runtimeManifests(root: Lockfile, roots: readonly string[]): { packageJson: { name: string; version: string; private: true; dependencies: Record<string, string> }; lockfile: Lockfile } {
  if (root.lockfileVersion < 2) throw new Error('package-lock.json must be lockfileVersion 2 or 3');
  const packages = root.packages;
  const kept = new Map<string, LockEntry>();

  /** Node's lookup from the folder of `from`: its own node_modules, then each ancestor's. */
  const locate = (from: string, name: string): string | undefined => {
    let base = from;
    for (;;) {
      const candidate = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (base === '') return undefined;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut === -1 ? '' : base.slice(0, cut);
    }
  };

  const visit = (path: string): void => {
    if (kept.has(path)) return;
    const entry = packages[path];
    if (!entry) throw new Error(`the lockfile has no ${path}`);
    if (entry.link) throw new Error(`${path} is a link; the runtime packages must come from the registry`);
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...rest } = entry;
    kept.set(path, rest);
    const optional = new Set([
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.entries(entry.peerDependenciesMeta ?? {})
        .filter(([, meta]) => meta.optional)
        .map(([name]) => name),
    ]);
    const wanted = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {}), ...Object.keys(entry.peerDependencies ?? {})];
    for (const name of wanted) {
      const found = locate(path, name);
      if (found) visit(found);
      else if (!optional.has(name)) throw new Error(`the lockfile cannot resolve ${name} for ${path}`);
    }
  };

  const dependencies: Record<string, string> = {};
  for (const name of roots) {
    const path = `node_modules/${name}`;
    const version = packages[path]?.version;
    if (!version) throw new Error(`${name} is not in package-lock.json`);
    dependencies[name] = version;
    visit(path);
  }
  const name = 'untxt-inference-runtime';
  const sorted = Object.fromEntries([...kept.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    packageJson: { name, version: '0.0.0', private: true, dependencies },
    lockfile: { name, lockfileVersion: 3, requires: true, packages: { '': { name, version: '0.0.0', dependencies }, ...sorted } },
  };
}

if (require.main === module) {
  const outDir = resolve(process.argv[2] ?? join(REPO_ROOT, 'dist', 'inference-container'));
  buildContainerBundles(outDir).then(
    (result) => process.stdout.write(`built ${result.entrypoint} and ${result.worker}; runtime packages: ${Object.keys(result.runtimePackages).join(', ')}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
