/**
 * `npm run bench` (after the data-layer bench): the OCR pipeline against its baselines, each a
 * ratio from one run in this process (baseline ÷ untxt, above 1 is faster):
 *
 *   - rasterization s/page (pdf.js + its canvas, raw RGBA) vs `pdftoppm` (poppler, PPM) on the same PDF;
 *   - Tesseract engine s/page (one warm tesseract.js worker) vs the `tesseract` CLI (OMP_THREAD_LIMIT=1);
 *   - the worker's sustained pages in flight and efficiency against a model stub with a fixed
 *     latency: pages/s ÷ min(stub capacity, rasterization alone). Goal ≥ 0.9 with 32 in flight.
 *
 * Needs Debian's poppler-utils and tesseract-ocr (+ -eng, -deu); a missing tool skips its row.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/adapters/clock';
import type { OcrEngine, OcrPage } from '../src/ocr/engine';
import { TesseractEngine } from '../src/ocr/tesseract-engine';
import { intakeObject } from '../src/pipeline/intake';
import { openRasterDocument } from '../src/pipeline/rasterize';
import { Worker } from '../inference-container/src/worker';
import { SAMPLE_PAGES, scanPage, textPdf } from '../test/pipeline/support/documents';
import { pipelineHarness, silentLogger } from '../test/pipeline/support/harness';

const RASTER_PAGES = Number(process.env.BENCH_RASTER_PAGES ?? 20);
const WORKER_PAGES = Number(process.env.BENCH_WORKER_PAGES ?? 96);
const STUB_LATENCY_MS = Number(process.env.BENCH_STUB_LATENCY_MS ?? 400);
const IN_FLIGHT = 32;

const rows: Array<Record<string, string | number>> = [];
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

function paragraphPages(n: number): string[][] {
  return Array.from({ length: n }, (_, p) =>
    Array.from({ length: 26 }, (_, l) => `Page ${p + 1} line ${l + 1}: the quick brown fox jumps over the lazy dog, Grüße aus Köln.`),
  );
}

async function rasterAll(pdf: Uint8Array): Promise<number> {
  const doc = await openRasterDocument(pdf, 'application/pdf');
  const start = performance.now();
  for (let n = 1; n <= doc.pageCount; n += 1) await doc.render(n);
  const ms = performance.now() - start;
  await doc.close();
  return ms;
}

async function benchRaster(dir: string, pdf: Uint8Array): Promise<number> {
  await rasterAll(pdf); // warm pdf.js and fonts
  const untxt = (await rasterAll(pdf)) / 1000 / RASTER_PAGES;
  if (!has('pdftoppm')) {
    rows.push({ scenario: 'rasterize (pdftoppm missing: apt-get install poppler-utils)', 'untxt s/page': round(untxt) });
    return untxt;
  }
  const file = join(dir, 'bench.pdf');
  writeFileSync(file, pdf);
  const start = performance.now();
  execFileSync('pdftoppm', ['-r', '200', file, join(dir, 'ppm')]);
  const baseline = (performance.now() - start) / 1000 / RASTER_PAGES;
  rows.push({ scenario: `rasterize ${RASTER_PAGES} A4 pages, 200 DPI`, baseline: 'pdftoppm (PPM)', 'baseline s/page': round(baseline), 'untxt s/page': round(untxt), ratio: round(baseline / untxt, 2) });
  return untxt;
}

async function benchTesseract(dir: string): Promise<void> {
  const pages = await Promise.all(SAMPLE_PAGES.filter((p) => p.lines.length > 0 && !p.rotate).map((p) => scanPage(p)));
  const engine = await TesseractEngine.create({ workers: 1 });
  try {
    await engine.recognize({ page: 1, width: 1240, height: 1754, format: 'png', data: pages[0]! });
    const start = performance.now();
    for (const [i, png] of pages.entries()) await engine.recognize({ page: i + 1, width: 1240, height: 1754, format: 'png', data: png });
    const untxt = (performance.now() - start) / 1000 / pages.length;
    if (!has('tesseract')) {
      rows.push({ scenario: 'tesseract (CLI missing: apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu)', 'untxt s/page': round(untxt) });
      return;
    }
    const files = pages.map((png, i) => {
      const f = join(dir, `page${i}.png`);
      writeFileSync(f, png);
      return f;
    });
    const cli = performance.now();
    for (const f of files) execFileSync('tesseract', [f, join(dir, 'out'), '-l', 'eng+deu', 'hocr'], { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, stdio: 'ignore' });
    const baseline = (performance.now() - cli) / 1000 / files.length;
    rows.push({ scenario: `OCR ${pages.length} scanned pages, eng+deu, hOCR`, baseline: 'tesseract CLI', 'baseline s/page': round(baseline), 'untxt s/page': round(untxt), ratio: round(baseline / untxt, 2) });
  } finally {
    await engine.close();
  }
}

/** A model server stand-in: every page takes the same time, any number at once. */
const stubEngine: OcrEngine = {
  name: 'stub',
  concurrency: IN_FLIGHT,
  recognize: async (image): Promise<OcrPage> => {
    await new Promise((r) => setTimeout(r, STUB_LATENCY_MS));
    return { page: image.page, width: image.width, height: image.height, engine: 'stub', confidence: 1, rotation: 0, blocks: [{ kind: 'text', text: `page ${image.page}`, bbox: [0, 0, 1, 1], confidence: 1 }] };
  },
  close: async () => undefined,
};

async function benchWorker(pagePreviews: boolean): Promise<void> {
  const pdf = await textPdf(paragraphPages(WORKER_PAGES));
  const rasterAlone = WORKER_PAGES / ((await rasterAll(pdf)) / 1000);
  const stubCapacity = IN_FLIGHT / (STUB_LATENCY_MS / 1000);

  const h = await pipelineHarness();
  const { key } = await h.createTask(pdf);
  await intakeObject({ key }, h.intakeDeps({ limits: { maxPages: 3000, maxImagePixels: 1e8, maxPagesPerDay: 10_000 } }));
  const deps = { db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, clock: systemClock, logger: silentLogger };
  const worker = new Worker({ ...deps, engine: stubEngine }, { maxPagesInFlight: IN_FLIGHT, pollWaitSeconds: 0, progressIntervalMs: 1000, pagePreviews });
  const [message] = await h.jobs.receive({ visibilityTimeoutSeconds: 300 });

  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(worker.pool.inFlight), 20);
  const start = performance.now();
  const outcome = await worker.handle(message!);
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  await h.dispose();
  if (outcome !== 'completed') throw new Error(`worker bench job ended ${outcome}`);

  const rate = WORKER_PAGES / seconds;
  const bound = Math.min(stubCapacity, rasterAlone);
  const sustained = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : 0;
  rows.push({
    scenario: `worker, ${WORKER_PAGES}-page PDF, stub ${STUB_LATENCY_MS} ms/page, ${IN_FLIGHT} in flight, previews ${pagePreviews ? 'on' : 'off'}`,
    baseline: `min(stub ${round(stubCapacity, 1)}, raster ${round(rasterAlone, 1)}) pages/s`,
    'baseline s/page': round(1 / bound),
    'untxt s/page': round(1 / rate),
    ratio: round(rate / bound, 2),
    'sustained in flight': round(sustained, 1),
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'untxt-bench-'));
  try {
    await benchRaster(dir, await textPdf(paragraphPages(RASTER_PAGES)));
    await benchTesseract(dir);
    await benchWorker(false);
    await benchWorker(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nuntxt OCR pipeline bench (ratio: baseline ÷ untxt; for the worker, efficiency = pages/s ÷ bound, goal ≥ 0.9)');
  console.table(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
