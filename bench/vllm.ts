/**
 * `npm run bench` (after the API and load benches): the GPU path without a GPU. A stand-in for
 * vLLM's OpenAI server (test/ocr/support) answers every page after the same latency, any number
 * at once, like a server batching them. Measured in this process, as ratios:
 *
 *   - pages/s through the worker and QwenVllmEngine (several multi-page jobs: rasterize, PNG,
 *     base64, HTTP, parse, checkpoint, assemble) ÷ pages/s of the same server driven directly with
 *     a prepared request at the same concurrency. Near 1: the worker and engine keep up with the
 *     model server; the rest of a real page's time is the GPU's.
 *   - the same for QwenVllmEngine alone on pre-rendered pages (its own cost: PNG, base64, HTTP,
 *     answer checks), to tell it apart from the worker's (rasterizing, checkpoints, the database);
 *   - how full the pool kept the server: mean in flight (at each arrival, and around each request
 *     while pages remained) ÷ pool size.
 *
 * Pages are rasterized at a low resolution (BENCH_VLLM_DPI, default 72) so that what is measured
 * is the path to the server, not pdf.js (bench/pipeline.ts measures rasterization).
 */
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/adapters/clock';
import { QwenVllmEngine } from '../src/ocr/qwen-vllm-engine';
import { modelPng } from '../src/ocr/qwen-image';
import { intakeObject } from '../src/pipeline/intake';
import { openRasterDocument } from '../src/pipeline/rasterize';
import { Worker } from '../inference-container/src/worker';
import { measureInFlight, pagesOfText } from '../test/ocr/support/in-flight';
import { OpenAiStubServer } from '../test/ocr/support/openai-stub-server';
import { textPdf } from '../test/pipeline/support/documents';
import { pipelineHarness, silentLogger } from '../test/pipeline/support/harness';

const POOL = Number(process.env.BENCH_VLLM_POOL ?? 32);
const JOBS = Number(process.env.BENCH_VLLM_JOBS ?? 4);
const PAGES_PER_JOB = Number(process.env.BENCH_VLLM_PAGES ?? 48);
const LATENCY_MS = Number(process.env.BENCH_VLLM_LATENCY_MS ?? 1000);
const DPI = Number(process.env.BENCH_VLLM_DPI ?? 72);
const ANSWER = `<html><body>${Array.from({ length: 12 }, (_, i) => `<p data-bbox="80 ${60 + i * 70} 920 ${110 + i * 70}">Line ${i + 1}: the quick brown fox jumps over the lazy dog.</p>`).join('')}</body></html>`;
const MODEL = 'Qwen/Qwen3-VL-8B-Instruct';

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** The server alone: POOL loops, each posting the engine's request for one page and reading the answer. */
async function direct(server: OpenAiStubServer, pdf: Uint8Array, pages: number): Promise<number> {
  const doc = await openRasterDocument(pdf, 'application/pdf', { dpi: DPI });
  const { png } = await modelPng(await doc.render(1), 0);
  await doc.close();
  const body = JSON.stringify({
    model: MODEL,
    messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } }, { type: 'text', text: 'qwenvl html' }] }],
    max_tokens: 4096,
    temperature: 0,
    logprobs: true,
  });
  let left = pages;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: POOL }, async () => {
      while (left > 0) {
        left -= 1;
        const response = await fetch(`${server.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await response.json();
      }
    }),
  );
  return pages / ((performance.now() - start) / 1000);
}

/** The engine alone: POOL callers, each recognizing pre-rendered pages (no rasterizing, no database). */
async function engineAlone(server: OpenAiStubServer, pdf: Uint8Array, pages: number): Promise<number> {
  const doc = await openRasterDocument(pdf, 'application/pdf', { dpi: DPI });
  const images = await Promise.all(Array.from({ length: Math.min(pages, doc.pageCount) }, (_, i) => doc.render(i + 1)));
  await doc.close();
  const engine = QwenVllmEngine.create({ baseUrl: server.baseUrl, model: MODEL, concurrency: POOL, orientation: 'none' });
  let next = 0;
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: POOL }, async () => {
        for (let i = next++; i < pages; i = next++) await engine.recognize(images[i % images.length]!);
      }),
    );
  } finally {
    await engine.close();
  }
  return pages / ((performance.now() - start) / 1000);
}

async function throughWorker(server: OpenAiStubServer, pdf: Uint8Array): Promise<number> {
  const h = await pipelineHarness();
  const deps = { db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, clock: systemClock, logger: silentLogger };
  const taskIds: string[] = [];
  for (let j = 0; j < JOBS; j += 1) {
    const { task, key } = await h.createTask(pdf);
    await intakeObject({ key }, h.intakeDeps({ limits: { maxPages: 3000, maxImagePixels: 1e8, maxPagesPerDay: 100_000 } }));
    taskIds.push(task.id);
  }
  const engine = QwenVllmEngine.create({ baseUrl: server.baseUrl, model: MODEL, concurrency: POOL, orientation: 'none' });
  // pollWaitSeconds ≥ 1: the in-memory queue answers an empty 0-second poll at once.
  const worker = new Worker({ ...deps, engine }, { maxPagesInFlight: POOL, maxJobs: JOBS, pollWaitSeconds: 1, progressIntervalMs: 1000, pagePreviews: false, raster: { dpi: DPI } });
  const start = performance.now();
  const polling = worker.start();
  let seconds = 0;
  try {
    for (const id of taskIds) {
      for (;;) {
        const { status } = await h.task(id);
        if (status === 'completed') break;
        if (status === 'failed') throw new Error('a bench task failed');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    seconds = (performance.now() - start) / 1000;
  } finally {
    await worker.stop();
    await polling;
    await engine.close();
    await h.dispose();
  }
  return (JOBS * PAGES_PER_JOB) / seconds;
}

async function main(): Promise<void> {
  const server = await OpenAiStubServer.start(() => ({ content: ANSWER, latencyMs: LATENCY_MS }));
  try {
    const pdf = await textPdf(pagesOfText(PAGES_PER_JOB));
    const pages = JOBS * PAGES_PER_JOB;
    const baseline = await direct(server, pdf, pages);
    const row = (scenario: string, untxt: number): Record<string, string | number> => {
      const measured = measureInFlight(server, POOL);
      server.reset();
      return {
        scenario,
        'baseline pages/s': round(baseline),
        'untxt pages/s': round(untxt),
        'ratio (untxt/baseline)': round(untxt / baseline),
        'peak in flight': measured.peak,
        'in flight at arrival / pool': round(measured.meanAtArrival / POOL),
        'in flight around each page / pool': round(measured.meanDuring / POOL),
      };
    };
    server.reset();
    const rows = [row('QwenVllmEngine alone, pre-rendered pages', await engineAlone(server, pdf, pages))];
    rows.push(row('worker + QwenVllmEngine, PDF jobs', await throughWorker(server, pdf)));
    console.log(`\nuntxt vLLM path bench: ${JOBS} jobs × ${PAGES_PER_JOB} pages at ${DPI} DPI, stub latency ${LATENCY_MS} ms, pool ${POOL}; baseline: the stub driven directly at the same concurrency`);
    console.table(rows);
  } finally {
    await server.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
