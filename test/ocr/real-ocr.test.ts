import { systemClock } from '../../src/adapters/clock';
import { TesseractEngine } from '../../src/ocr/tesseract-engine';
import { intakeObject } from '../../src/pipeline/intake';
import type { ResultJson } from '../../src/pipeline/assemble';
import { Worker } from '../../inference-container/src/worker';
import { SAMPLE_PAGES, recovery, scanPage, scannedPdf, wordsOf } from '../pipeline/support/documents';
import { pipelineHarness, silentLogger, type PipelineHarness } from '../pipeline/support/harness';

describe('real OCR through the whole worker with the Tesseract engine', () => {
  let h: PipelineHarness;
  let engine: TesseractEngine;
  beforeAll(async () => {
    h = await pipelineHarness();
    engine = await TesseractEngine.create({ workers: 2 });
  });
  afterAll(async () => {
    await engine.close();
    await h.dispose();
  });

  it('reads a scanned PDF with a page turned 90°, a blank page and German umlauts: ≥ 95% of the words, the blank page empty', async () => {
    // Prepare
    const pdf = await scannedPdf(await Promise.all(SAMPLE_PAGES.map((p) => scanPage(p))));
    const { task, key } = await h.createTask(pdf);
    await intakeObject({ key }, h.intakeDeps());
    const worker = new Worker(
      { db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger: silentLogger },
      { pollWaitSeconds: 0 },
    );
    const [message] = await h.jobs.receive();

    // Act
    const outcome = await worker.handle(message!);

    // Assess
    expect(outcome).toBe('completed');
    const keys = h.objects.keys(task.resultsPrefix);
    const read = (ext: string): string => Buffer.from(h.objects.objects.get(keys.find((k) => k.endsWith(ext) && !k.includes('/pages/'))!)!.body).toString();
    const json = JSON.parse(read('.json')) as ResultJson;
    const expected = SAMPLE_PAGES.flatMap((p) => wordsOf(p.lines));
    const share = recovery(expected, read('.txt'));
    console.log(`real OCR: ${(share * 100).toFixed(1)}% of ${expected.length} words recovered`);
    expect(share).toBeGreaterThanOrEqual(0.95);
    expect(json.pages.map((p) => p.page)).toEqual([1, 2, 3, 4]);
    expect(json.pages[1]!.rotation).not.toBe(0);
    expect(json.pages[2]!.blocks).toEqual([]);
    expect(json.pages.every((p) => p.engine.startsWith('tesseract'))).toBe(true);
    expect(read('.html').match(/<section data-page="\d+">/g)).toHaveLength(4);
  });

  it('reads a PNG image the same way', async () => {
    // Prepare
    const lines = ['Grüße aus Köln', 'Invoice number 4711 is due'];
    const { task, key } = await h.createTask(await scanPage({ lines }), { contentType: 'image/png' });
    await intakeObject({ key }, h.intakeDeps());
    const worker = new Worker(
      { db: h.database.db, objects: h.objects, jobs: h.jobs, events: h.bus, engine, clock: systemClock, logger: silentLogger },
      { pollWaitSeconds: 0 },
    );
    const [message] = await h.jobs.receive();

    // Act
    await worker.handle(message!);

    // Assess
    const done = await h.task(task.id);
    expect(done.status).toBe('completed');
    const { rows } = await h.database.db.query<{ text: string }>('SELECT text FROM results WHERE task_id = $1', [task.id]);
    expect(recovery(wordsOf(lines), rows[0]!.text)).toBeGreaterThanOrEqual(0.95);
  });
});
