import sharp from 'sharp';
import { systemClock } from '../../src/adapters/clock';
import { PageFailedError, UnreadablePageError } from '../../src/ocr/engine';
import { QwenVllmEngine } from '../../src/ocr/qwen-vllm-engine';
import type { ResultJson } from '../../src/pipeline/assemble';
import { TEXT_LAYER_ENGINE } from '../../src/pipeline/text-layer';
import { LOG_MODEL_SERVER_FAILED, LOG_PAGE_FALLBACK, Worker, type WorkerOptions } from '../../inference-container/src/worker';
import { pipelineHarness, type PipelineHarness } from '../pipeline/support/harness';
import { textPdf } from '../pipeline/support/documents';
import { OpenAiStubServer } from '../ocr/support/openai-stub-server';
import { stampedScanPdf } from './support/documents';
import { queuedDocument, receiveJob } from './support/jobs';
import { StubEngine } from './support/stub-engine';

const FAST: Partial<WorkerOptions> = { leaseSeconds: 1, heartbeatSeconds: 60, pollWaitSeconds: 0, retryDelaySeconds: 0, progressIntervalMs: 0, raster: { dpi: 40 } };
const MODEL = 'vllm/Qwen/Qwen3-VL-8B-Instruct';

describe('the worker, when the engine fails a page on every attempt', () => {
  let h: PipelineHarness;
  let engine: StubEngine;
  let cpu: StubEngine;
  let warnings: Array<[string, Record<string, unknown>?]>;
  let errors: Array<[string, Record<string, unknown>?]>;
  const logger = {
    info: () => undefined,
    error: (...args: unknown[]) => void errors.push(args as [string, Record<string, unknown>?]),
    warn: (...args: unknown[]) => void warnings.push(args as [string, Record<string, unknown>?]),
  };
  const worker = (deps: { fallback?: StubEngine } = { fallback: cpu }, options: Partial<WorkerOptions> = {}) =>
    new Worker({ db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger, ...deps }, { ...FAST, ...options });
  const fallbackLines = () => warnings.filter(([message]) => message === LOG_PAGE_FALLBACK);

  const queued = (bytes: Uint8Array, options: { contentType?: string; maxAttempts?: number } = {}) => queuedDocument(h, bytes, options);
  const receiveOne = () => receiveJob(h);

  function resultJson(prefix: string): ResultJson {
    const key = h.objects.keys(prefix).find((k) => k.endsWith('.json') && !k.includes('/pages/'));
    if (!key) throw new Error('no result JSON');
    return JSON.parse(Buffer.from(h.objects.objects.get(key)!.body).toString()) as ResultJson;
  }

  const failing = (pages: number[], reason: PageFailedError['reason'] = 'repetition') => (page: number) =>
    pages.includes(page) ? new PageFailedError(MODEL, reason, 3) : undefined;

  beforeEach(async () => {
    h = await pipelineHarness();
    engine = new StubEngine('model');
    cpu = new StubEngine('cpu');
    warnings = [];
    errors = [];
  });
  afterEach(() => h.dispose());

  it('reads a PDF page from its own text layer, marks it in the JSON and logs a warning without its text', async () => {
    // Prepare
    const task = await queued(await textPdf([['alpha one'], ['Confidential bravo diagnosis'], ['charlie three']]));
    engine.failWith = failing([2]);

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    const json = resultJson(task.resultsPrefix);
    expect(json.pages.map((p) => [p.page, p.engine, p.fallback])).toEqual([
      [1, 'model', undefined],
      [2, TEXT_LAYER_ENGINE, { from: MODEL, reason: 'repetition', attempts: 3 }],
      [3, 'model', undefined],
    ]);
    expect(json.pages[1]!.blocks.map((b) => b.text)).toEqual(['Confidential bravo diagnosis']);
    expect(json.pages[1]!.blocks[0]!.bbox).not.toBeNull();
    expect(json.pages.filter((p) => 'fallback' in p)).toHaveLength(1);
    expect(cpu.calls).toEqual([]); // the text layer came first
    expect(fallbackLines()).toEqual([[LOG_PAGE_FALLBACK, expect.objectContaining({ taskId: task.id, page: 2, fallbackReason: 'repetition', engine: TEXT_LAYER_ENGINE })]]);
    expect(JSON.stringify(warnings)).not.toMatch(/Confidential|bravo|diagnosis/);
  });

  it('reads an image page, which has no text layer, with the fallback engine and marks it', async () => {
    // Prepare
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#fff' } }).png().toBuffer();
    const task = await queued(png, { contentType: 'image/png' });
    engine.failWith = failing([1], 'length');

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    expect(cpu.calls).toEqual([1]);
    const [page] = resultJson(task.resultsPrefix).pages;
    expect([page!.engine, page!.fallback]).toEqual(['cpu', { from: MODEL, reason: 'length', attempts: 3 }]);
    expect(fallbackLines()).toEqual([[LOG_PAGE_FALLBACK, expect.objectContaining({ page: 1, fallbackReason: 'length', engine: 'cpu' })]]);
  });

  it('retries a page nothing else can read, then fails the task with ocr_failed naming the page', async () => {
    // Prepare: a PDF whose second page has no text layer, and no fallback engine.
    const task = await queued(await textPdf([['alpha one'], []]), { maxAttempts: 2 });
    engine.failWith = failing([2]);
    const w = worker({});

    // Act
    const first = await w.handle(await receiveOne());
    await new Promise((r) => setTimeout(r, 1100)); // the 1 s lease and visibility run out
    const second = await w.handle(await receiveOne());

    // Assess
    expect([first, second]).toEqual(['retry', 'failed']);
    const failed = await h.task(task.id);
    expect([failed.status, failed.errorCode, failed.attempts]).toEqual(['failed', 'ocr_failed', 2]);
    expect(failed.errorMessage).toMatch(/^Page 2 could not be read/);
    expect([...engine.calls].sort()).toEqual([1, 2, 2]); // page 1 was checkpointed by the first attempt
  });

  it('keeps the fallback marker of a checkpointed page when a later attempt resumes and assembles the result', async () => {
    // Prepare: page 2 falls back to its text layer; page 3 kills the first attempt.
    const task = await queued(await textPdf([['alpha one'], ['bravo two'], ['charlie three']]));
    engine.failWith = (page) => (page === 3 ? new Error('killed') : failing([2])(page));
    await worker().handle(await receiveOne());
    engine.calls = [];
    engine.failWith = undefined;
    await new Promise((r) => setTimeout(r, 1100));

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    expect(engine.calls).toEqual([3]); // pages 1 and 2 came from their checkpoints
    const pages = resultJson(task.resultsPrefix).pages;
    expect(pages.map((p) => [p.engine, p.fallback?.reason])).toEqual([
      ['model', undefined],
      [TEXT_LAYER_ENGINE, 'repetition'],
      ['model', undefined],
    ]);
    expect(pages[1]!.fallback).toEqual({ from: MODEL, reason: 'repetition', attempts: 3 });
  });

  it('reads the text layer of a page the Qwen engine gives up on when the model server only ever answers cut short', async () => {
    // Prepare: every answer runs into the token cap, at each temperature of the ladder.
    const server = await OpenAiStubServer.start(() => ({ content: '<html><body><p data-bbox="10 10 900 60">cut sh', finishReason: 'length' }));
    const qwen = QwenVllmEngine.create({ baseUrl: server.baseUrl, model: 'test-model', orientation: 'none', blankCheck: false, temperatures: [0, 0.5], retryDelayMs: 0 });
    const task = await queued(await textPdf([['Delta echo foxtrot']]));
    const w = new Worker({ db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine: qwen, fallback: cpu, clock: systemClock, logger }, FAST);

    // Act
    let outcome: string;
    try {
      outcome = await w.handle(await receiveOne());
    } finally {
      await qwen.close();
      await server.close();
    }

    // Assess
    expect(outcome).toBe('completed');
    // How the engine retries a cut-short answer (temperatures, token budgets) is its own business (test/ocr).
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
    const [page] = resultJson(task.resultsPrefix).pages;
    expect([page!.engine, page!.fallback]).toEqual([TEXT_LAYER_ENGINE, { from: 'vllm/test-model', reason: 'length', attempts: expect.any(Number) }]);
    expect(page!.blocks.map((b) => b.text)).toEqual(['Delta echo foxtrot']);
    expect(cpu.calls).toEqual([]);
  });

  it('reads a scanned page whose text layer is only a small stamp with the fallback engine, which read more of it', async () => {
    // Prepare
    const task = await queued(await stampedScanPdf(['Patient history and findings', 'Blood pressure normal at rest', 'Follow up in three weeks']));
    engine.failWith = failing([1]);
    cpu.textOf = () => 'Patient history and findings Blood pressure normal at rest Follow up in three weeks';

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    expect(cpu.calls).toEqual([1]);
    const [page] = resultJson(task.resultsPrefix).pages;
    expect([page!.engine, page!.fallback?.reason]).toEqual(['cpu', 'repetition']);
    const [[, fields]] = fallbackLines() as [[string, Record<string, unknown>]];
    expect(fields).toMatchObject({ engine: 'cpu', fallbackReason: 'repetition' });
    expect(fields.textLayerCoverage).toBeLessThan(0.5);
  });

  it('keeps the stamp-only text layer of a scanned page when there is no fallback engine, as better than nothing', async () => {
    // Prepare
    const task = await queued(await stampedScanPdf(['Patient history and findings']));
    engine.failWith = failing([1]);

    // Act
    const outcome = await worker({}).handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    const [page] = resultJson(task.resultsPrefix).pages;
    expect([page!.engine, page!.blocks.map((b) => b.text)]).toEqual([TEXT_LAYER_ENGINE, ['CONFIDENTIAL']]);
  });

  it('keeps the text layer of a scanned page when the fallback engine reads fewer letters than it holds', async () => {
    // Prepare
    const task = await queued(await stampedScanPdf(['Patient history and findings']));
    engine.failWith = failing([1]);
    cpu.textOf = () => 'x';

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('completed');
    expect(cpu.calls).toEqual([1]);
    expect(resultJson(task.resultsPrefix).pages[0]!.engine).toBe(TEXT_LAYER_ENGINE);
  });

  it('treats a page the fallback engine cannot decode as one without a fallback, not as a corrupt document', async () => {
    // Prepare
    const png = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#fff' } }).png().toBuffer();
    const task = await queued(png, { contentType: 'image/png', maxAttempts: 1 });
    engine.failWith = failing([1], 'malformed');
    cpu.failWith = () => new UnreadablePageError('cannot decode');

    // Act
    const outcome = await worker().handle(await receiveOne());

    // Assess
    expect(outcome).toBe('failed');
    const failed = await h.task(task.id);
    expect([failed.status, failed.errorCode]).toEqual(['failed', 'ocr_failed']);
  });

  it.each(['server_error', 'timeout'] as const)(
    'fails the attempt without any fallback when the model server fails a page (%s), keeps the pages done, and retries the task later',
    async (reason) => {
      // Prepare: one page at a time, so page 3 is not started once page 2 has failed.
      const task = await queued(await textPdf([['alpha one'], ['bravo two'], ['charlie three']]));
      engine.failWith = failing([2], reason);
      const w = worker({ fallback: cpu }, { maxPagesInFlight: 1 });

      // Act
      const first = await w.handle(await receiveOne());
      engine.failWith = undefined;
      await new Promise((r) => setTimeout(r, 1100)); // the 1 s lease and visibility run out
      const second = await w.handle(await receiveOne());

      // Assess
      expect([first, second]).toEqual(['retry', 'completed']);
      expect(engine.calls).toEqual([1, 2, 2, 3]); // page 3 waited for the retry; page 1 came from its checkpoint
      expect(cpu.calls).toEqual([]);
      expect(fallbackLines()).toEqual([]);
      expect(errors).toEqual([[LOG_MODEL_SERVER_FAILED, { taskId: task.id, page: 2, engine: MODEL, reason, attempts: 3 }]]);
      const pages = resultJson(task.resultsPrefix).pages;
      expect(pages.map((p) => [p.engine, p.fallback])).toEqual([
        ['model', undefined],
        ['model', undefined],
        ['model', undefined],
      ]);
    },
  );
});
