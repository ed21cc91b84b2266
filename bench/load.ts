/**
 * `npm run bench` (last): the whole local service under load. N one-page scans (default 50) from
 * 5 users at once through real HTTP — create, presigned PUT, intake, the Tesseract worker — timed
 * from the first create to the last completion; against a baseline in this process: the same
 * pages OCR'd straight through a TesseractEngine with as many pages in flight as the worker uses.
 * Reports pages per minute for both, their ratio (service ÷ engine alone: the share of the
 * engine's throughput the service keeps, 1.0 = no overhead) and the slowest task's time from
 * create to completed.
 *
 *   BENCH_LOAD_TASKS=50 BENCH_LOAD_USERS=5 npm run bench
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../local/config';
import { createLogger } from '../local/logger';
import { startLocalService } from '../local/service';
import type { PageImage } from '../src/ocr/engine';
import { TesseractEngine } from '../src/ocr/tesseract-engine';
import { scanPage } from '../test/pipeline/support/documents';
import { ensurePgliteTemplate } from '../test/support/pglite-template';
import { register, submit } from '../test/e2e/support/e2e';

const TASKS = Number(process.env.BENCH_LOAD_TASKS ?? 50);
const USERS = Number(process.env.BENCH_LOAD_USERS ?? 5);
const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

async function pages(): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: TASKS }, (_, i) =>
      scanPage({ lines: [`Load bench document ${i + 1}`, 'Quarterly revenue grew by twelve percent'] }, { width: 1240, height: 320 }),
    ),
  );
}

/** The engine alone: every page through one TesseractEngine, `inFlight` at a time. */
async function baseline(images: Buffer[]): Promise<{ ms: number; inFlight: number }> {
  const engine = await TesseractEngine.create();
  const inFlight = Math.max(2, engine.concurrency * 2); // what local/pipeline.ts gives the worker
  try {
    const page = (data: Buffer): PageImage => ({ page: 1, width: 1240, height: 320, format: 'png', data });
    await engine.recognize(page(images[0]!)); // warm-up, as the service's engine is warm after its first page
    const start = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < images.length) await engine.recognize(page(images[next++]!));
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return { ms: performance.now() - start, inFlight };
  } finally {
    await engine.close();
  }
}

async function throughService(images: Buffer[]): Promise<{ ms: number; slowestMs: number; medianMs: number; failed: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'untxt-bench-load-'));
  cpSync((await ensurePgliteTemplate()).dir, join(dataDir, 'pgdata'), { recursive: true });
  const service = await startLocalService(loadConfig({ PORT: '0', UNTXT_DATA_DIR: dataDir }), { logger: createLogger('SILENT'), pipeline: true });
  try {
    const users = await Promise.all(Array.from({ length: USERS }, (_, u) => register(service.url, `bench${u}`)));
    // Warm-up task, so the engine's start-up is not charged to the first tasks.
    await runAll(service, [users[0]!], [images[0]!]);
    return await runAll(service, users, images);
  } finally {
    await service.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function runAll(
  service: Awaited<ReturnType<typeof startLocalService>>,
  users: Awaited<ReturnType<typeof register>>[],
  images: Buffer[],
): Promise<{ ms: number; slowestMs: number; medianMs: number; failed: number }> {
  const started = new Map<string, number>();
  const took: number[] = [];
  let failed = 0;
  let finished = 0;
  let done!: () => void;
  const allDone = new Promise<void>((resolve) => (done = resolve));
  const finishedAt = new Map<string, number>();
  const unsubscribe = service.eventBus.subscribe(async (event) => {
    if (event.status !== 'completed' && event.status !== 'failed') return;
    finishedAt.set(event.taskId, performance.now());
    if (event.status === 'failed') failed += 1;
    if (++finished === images.length) done();
  });
  const start = performance.now();
  await Promise.all(
    images.map(async (image, i) => {
      const t0 = performance.now();
      const id = await submit(service.url, users[i % users.length]!, image, `page-${i}.png`, 'image/png');
      started.set(id, t0);
    }),
  );
  await allDone;
  const ms = performance.now() - start;
  unsubscribe();
  for (const [id, t0] of started) took.push(finishedAt.get(id)! - t0);
  took.sort((a, b) => a - b);
  return { ms, slowestMs: took[took.length - 1]!, medianMs: took[Math.floor(took.length / 2)]!, failed };
}

async function main(): Promise<void> {
  if (USERS * 10 < TASKS) throw new Error(`${USERS} users may have at most ${USERS * 10} unfinished tasks at once; raise BENCH_LOAD_USERS`);
  const images = await pages();
  const direct = await baseline(images);
  const service = await throughService(images);
  const perMinute = (ms: number): number => round((TASKS / ms) * 60_000, 1);
  console.log(`\nuntxt local service under load: ${TASKS} one-page scans from ${USERS} users at once (ratio: service ÷ engine alone; 1.0 = no overhead)`);
  console.table([
    { scenario: `engine alone (${direct.inFlight} pages in flight)`, 'pages/min': perMinute(direct.ms), 'total s': round(direct.ms / 1000) },
    {
      scenario: 'through the service (HTTP, store, intake, worker)',
      'pages/min': perMinute(service.ms),
      'total s': round(service.ms / 1000),
      'ratio': round(direct.ms / service.ms),
      'slowest task s': round(service.slowestMs / 1000),
      'median task s': round(service.medianMs / 1000),
      failed: service.failed,
    },
  ]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
