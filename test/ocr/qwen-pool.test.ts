import { systemClock } from '../../src/adapters/clock';
import { QwenVllmEngine } from '../../src/ocr/qwen-vllm-engine';
import { intakeObject } from '../../src/pipeline/intake';
import { Worker } from '../../inference-container/src/worker';
import { textPdf } from '../pipeline/support/documents';
import { pipelineHarness, silentLogger, type PipelineHarness } from '../pipeline/support/harness';
import { OpenAiStubServer } from './support/openai-stub-server';
import { measureInFlight, pagesOfText } from './support/in-flight';

const POOL = 4;
const JOBS = 3;
const PAGES = 7;

describe('the worker with the Qwen engine against a model server with a fixed latency', () => {
  let h: PipelineHarness;
  let server: OpenAiStubServer;
  beforeAll(async () => {
    h = await pipelineHarness();
    server = await OpenAiStubServer.start(() => ({ content: '<html><body><p data-bbox="100 100 900 200">A line of the page</p></body></html>', latencyMs: 400 }));
  });
  afterAll(async () => {
    await server.close();
    await h.dispose();
  });

  it('keeps the page pool full across several multi-page jobs: exactly the pool size in flight at the peak, and a full pool around every page sent while pages remained', async () => {
    // Prepare
    const tasks = [];
    for (let j = 0; j < JOBS; j += 1) {
      const { task, key } = await h.createTask(await textPdf(pagesOfText(PAGES)));
      await intakeObject({ key }, h.intakeDeps());
      tasks.push(task);
    }
    const engine = QwenVllmEngine.create({ baseUrl: server.baseUrl, model: 'Qwen/Qwen3-VL-8B-Instruct', concurrency: POOL, orientation: 'none' });
    const worker = new Worker(
      { db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger: silentLogger },
      { maxPagesInFlight: POOL, maxJobs: JOBS, pollWaitSeconds: 1, progressIntervalMs: 0, pagePreviews: false, raster: { dpi: 36 } },
    );

    // Act
    const polling = worker.start();
    try {
      for (const task of tasks) {
        while (!['completed', 'failed'].includes((await h.task(task.id)).status)) await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await worker.stop();
      await polling;
      await engine.close();
    }

    // Assess
    for (const task of tasks) expect((await h.task(task.id)).status).toBe('completed');
    const measured = measureInFlight(server, POOL);
    expect(server.requests).toHaveLength(JOBS * PAGES);
    expect(measured.peak).toBe(POOL);
    // Count-based: every page sent while pages remained shared the server with a full pool.
    expect(measured.meanDuring).toBeGreaterThanOrEqual(0.9 * POOL);
  });
});
