import { GetObjectAttributesCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { PDFDocument } from 'pdf-lib';
import sharp from 'sharp';
import { S3ObjectStore } from '../../src/adapters/aws/s3-object-store';
import { getTaskHistory } from '../../src/db/repositories/tasks';
import { DEFAULT_INTAKE_LIMITS, handleIntakeMessage, intakeObject } from '../../src/pipeline/intake';
import { objectCreatedNotification } from '../../src/pipeline/messages';
import { pipelineHarness, type PipelineHarness } from './support/harness';
import { textPdf } from './support/documents';

const s3 = mockClient(S3Client);

/** A classic little-endian TIFF with `pages` tiny IFDs, each `width × height`. */
function tiff(pages: number, width = 10, height = 10): Uint8Array {
  const ifdSize = 2 + 2 * 12 + 4;
  const buf = Buffer.alloc(8 + pages * ifdSize);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  for (let p = 0; p < pages; p += 1) {
    const at = 8 + p * ifdSize;
    buf.writeUInt16LE(2, at);
    buf.writeUInt16LE(256, at + 2);
    buf.writeUInt16LE(4, at + 4);
    buf.writeUInt32LE(1, at + 6);
    buf.writeUInt32LE(width, at + 10);
    buf.writeUInt16LE(257, at + 14);
    buf.writeUInt16LE(4, at + 16);
    buf.writeUInt32LE(1, at + 18);
    buf.writeUInt32LE(height, at + 22);
    buf.writeUInt32LE(p + 1 < pages ? at + ifdSize : 0, at + 26);
  }
  return new Uint8Array(buf);
}

async function encryptedLookingPdf(): Promise<Uint8Array> {
  // pdf-lib cannot encrypt; a trailer /Encrypt entry with a standard handler needing a password is enough for pdf.js.
  const doc = await PDFDocument.load(await textPdf([['secret']]));
  const base = Buffer.from(await doc.save({ useObjectStreams: false })).toString('latin1');
  const encrypt = '9999 0 obj\n<< /Filter /Standard /V 1 /R 2 /O (0123456789abcdef0123456789abcdef) /U (0123456789abcdef0123456789abcdef) /P -4 >>\nendobj\n';
  const withObj = base.replace(/xref/, `${encrypt}xref`);
  return new Uint8Array(Buffer.from(withObj.replace(/trailer\s*<</, 'trailer\n<< /Encrypt 9999 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]'), 'latin1'));
}

describe('intake', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await pipelineHarness();
  });
  afterAll(() => h.dispose());

  it('queues a valid PDF with its page count, emits one event and sends one job', async () => {
    // Prepare
    const { task, key } = await h.createTask(await textPdf([['one'], ['two'], ['three']]));
    const depthBefore = (await h.jobs.approximateDepth()).visible;

    // Act
    const outcomes = await handleIntakeMessage(objectCreatedNotification({ bucket: 'b', key, size: 1 }), h.intakeDeps());

    // Assess
    expect(outcomes).toEqual(['queued']);
    const after = await h.task(task.id);
    expect([after.status, after.pageCount]).toEqual(['queued', 3]);
    expect(h.bus.statuses(task.id)).toEqual(['queued']);
    expect((await h.jobs.approximateDepth()).visible).toBe(depthBefore + 1);
  });

  it('turns duplicated and reordered events into one transition, and re-sends the job of a queued task', async () => {
    // Prepare
    const { task, key } = await h.createTask(await textPdf([['a']]));
    const event = objectCreatedNotification({ bucket: 'b', key, size: 1 });

    // Act
    const outcomes = await Promise.all([handleIntakeMessage(event, h.intakeDeps()), handleIntakeMessage(event, h.intakeDeps())]);
    const late = await handleIntakeMessage(event, h.intakeDeps());

    // Assess
    expect(outcomes.flat().filter((o) => o === 'queued')).toHaveLength(1);
    expect(late).toEqual(['job_resent']);
    const history = await getTaskHistory(h.database.db, task.id);
    expect(history.map((r) => r.toStatus)).toEqual(['awaiting_upload', 'queued']);
    // Repeated with the seq of the one transition: receivers pass it on once.
    const events = h.bus.events.filter((e) => e.taskId === task.id);
    expect(new Set(events.map((e) => `${e.status}#${e.seq}`))).toEqual(new Set([`queued#${history[1]!.id}`]));
  });

  it.each([
    ['sending the job', 'jobs'],
    ['publishing the event', 'events'],
  ] as const)('publishes the queued event on the retry when %s failed after the transition', async (_name, failing) => {
    // Prepare: the first pass moves the task to queued, then the send or the publish throws.
    const { task, key } = await h.createTask(await textPdf([['a']]));
    const deps = h.intakeDeps();
    if (failing === 'jobs') jest.spyOn(deps.jobs, 'send').mockRejectedValueOnce(new Error('unavailable'));
    else jest.spyOn(deps.events, 'publish').mockRejectedValueOnce(new Error('unavailable'));
    await expect(intakeObject({ key }, deps)).rejects.toThrow('unavailable');
    const jobsBefore = (await h.jobs.approximateDepth()).visible;

    // Act: the intake message is delivered again.
    const retried = await intakeObject({ key }, deps);

    // Assess
    expect(retried).toBe('job_resent');
    const queuedRow = (await getTaskHistory(h.database.db, task.id)).find((r) => r.toStatus === 'queued')!;
    expect(h.bus.events.filter((e) => e.taskId === task.id).at(-1)).toMatchObject({
      status: 'queued',
      previousStatus: 'awaiting_upload',
      seq: queuedRow.id,
      pageCount: 1,
      occurredAt: queuedRow.at.toISOString(),
    });
    expect((await h.jobs.approximateDepth()).visible).toBe(jobsBefore + 1);
  });

  it.each([
    ['a PNG declared as a PDF', async () => ({ bytes: await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } }).png().toBuffer(), type: 'application/pdf' }), 'unsupported_type'],
    ['an unknown format', async () => ({ bytes: Buffer.from('hello, not a document'), type: 'image/png' }), 'unsupported_type'],
    ['a damaged PDF', async () => ({ bytes: Buffer.from('%PDF-1.7\n garbage without objects or xref'), type: 'application/pdf' }), 'corrupt_document'],
    ['a password-protected PDF', async () => ({ bytes: await encryptedLookingPdf(), type: 'application/pdf' }), 'encrypted_document'],
    ['a TIFF with more pages than allowed', async () => ({ bytes: tiff(6), type: 'image/tiff' }), 'too_many_pages'],
    ['an image beyond the pixel limit', async () => ({ bytes: tiff(1, 5000, 5000), type: 'image/tiff' }), 'image_too_large'],
  ])('fails %s with a code and a readable message', async (_name, make, code) => {
    // Prepare
    const { bytes, type } = await make();
    const { task, key } = await h.createTask(new Uint8Array(bytes), { contentType: type });

    // Act
    await intakeObject({ key }, h.intakeDeps({ limits: { ...DEFAULT_INTAKE_LIMITS, maxPages: 5, maxImagePixels: 20_000_000 } }));

    // Assess
    const after = await h.task(task.id);
    expect([after.status, after.errorCode]).toEqual(['failed', code]);
    expect(after.errorMessage).toMatch(/^The /);
    expect(h.bus.statuses(task.id)).toEqual(['failed']);
  });

  it('counts the pages of a multi-page TIFF by walking its IFDs', async () => {
    // Prepare
    const { task, key } = await h.createTask(tiff(4), { contentType: 'image/tiff' });

    // Act
    await intakeObject({ key }, h.intakeDeps());

    // Assess
    expect((await h.task(task.id)).pageCount).toBe(4);
  });

  it('fails uploads whose size or checksum differ from what was declared', async () => {
    // Prepare
    const pdf = await textPdf([['x']]);
    const sized = await h.createTask(pdf, { declaredSize: pdf.byteLength + 1 });
    const summed = await h.createTask(pdf, { declaredSha256: 'a'.repeat(64) });

    // Act
    await intakeObject({ key: sized.key }, h.intakeDeps());
    await intakeObject({ key: summed.key }, h.intakeDeps());

    // Assess
    expect((await h.task(sized.task.id)).errorCode).toBe('size_mismatch');
    expect((await h.task(summed.task.id)).errorCode).toBe('checksum_mismatch');
  });

  it('erases objects that belong to no task', async () => {
    // Prepare
    const key = `uploads/${h.userId}/2026-11/00000000-0000-4000-8000-000000000000/original.pdf`;
    await h.objects.put({ key, body: 'x', contentType: 'application/pdf' });

    // Act
    const outcome = await intakeObject({ key }, h.intakeDeps());

    // Assess
    expect(outcome).toBe('erased');
    expect(h.objects.objects.has(key)).toBe(false);
  });

  it('ignores S3 test events and messages that are not notifications', async () => {
    // Act
    const test = await handleIntakeMessage({ Service: 'Amazon S3', Event: 's3:TestEvent' }, h.intakeDeps());
    const junk = await handleIntakeMessage({ hello: 'world' }, h.intakeDeps());

    // Assess
    expect(test).toEqual([]);
    expect(junk).toEqual(['ignored']);
  });
});

describe('intake on S3', () => {
  let h: PipelineHarness;
  beforeAll(async () => {
    h = await pipelineHarness();
  });
  afterAll(() => h.dispose());
  beforeEach(() => s3.reset());

  it('reads only byte ranges of the upload, never the whole object', async () => {
    // Prepare: a 40-page PDF padded past the first range, so pdf.js must ask for more.
    const doc = await PDFDocument.load(await textPdf(Array.from({ length: 40 }, (_, i) => [`page ${i + 1} `.repeat(30)])));
    doc.setSubject('x'.repeat(200_000));
    const bytes = await doc.save({ useObjectStreams: false });
    const { task, key } = await h.createTask(bytes, { upload: false });
    s3.on(GetObjectAttributesCommand).resolves({
      ObjectSize: bytes.byteLength,
      Checksum: { ChecksumSHA256: createHash('sha256').update(bytes).digest('base64'), ChecksumType: 'FULL_OBJECT' },
    });
    s3.on(GetObjectCommand).callsFake((input: { Range?: string }) => {
      const [, start, end] = /^bytes=(\d+)-(\d+)$/.exec(input.Range ?? '') ?? [];
      if (start === undefined) return { Body: body(bytes), ContentLength: bytes.byteLength };
      const slice = bytes.subarray(Number(start), Number(end) + 1);
      return { Body: body(slice), ContentLength: slice.byteLength, ContentRange: `bytes ${start}-${Number(start) + slice.byteLength - 1}/${bytes.byteLength}` };
    });
    const objects = new S3ObjectStore({ client: new S3Client({ region: 'us-east-1' }), bucket: 'docs' });

    // Act
    await intakeObject({ key }, h.intakeDeps({ objects }));

    // Assess
    expect((await h.task(task.id)).pageCount).toBe(40);
    const gets = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
    expect(gets.length).toBeGreaterThan(0);
    for (const input of gets) expect(input.Range).toMatch(/^bytes=\d+-\d+$/);
    const bytesRead = gets.reduce((n, i) => {
      const [, s, e] = /^bytes=(\d+)-(\d+)$/.exec(i.Range!)!;
      return n + Number(e) - Number(s) + 1;
    }, 0);
    expect(bytesRead).toBeLessThan(bytes.byteLength);
  });
});

describe('intake and the daily page quota', () => {
  let h: PipelineHarness;
  beforeEach(async () => {
    h = await pipelineHarness();
  });
  afterEach(() => h.dispose());

  const pages = (n: number) => textPdf(Array.from({ length: n }, (_, i) => [`page ${i + 1}`]));
  const limits = { ...DEFAULT_INTAKE_LIMITS, maxPagesPerDay: 10 };

  it('fails a task whose counted pages exceed what is left of the daily limit with quota_exceeded, and queues one that fits exactly', async () => {
    // Prepare: 3 pages queued today; at creation each later task counted as one page.
    const first = await h.createTask(await pages(3));
    await intakeObject({ key: first.key }, h.intakeDeps({ limits }));
    const tooLong = await h.createTask(await pages(8));

    // Act: 3 + 8 > 10; then 3 + 1 (the refused task keeps the page it was counted as) + 6 = 10.
    const refused = await intakeObject({ key: tooLong.key }, h.intakeDeps({ limits }));
    const fits = await h.createTask(await pages(6));
    const accepted = await intakeObject({ key: fits.key }, h.intakeDeps({ limits }));

    // Assess
    expect([refused, accepted]).toEqual(['failed', 'queued']);
    const failed = await h.task(tooLong.task.id);
    expect([failed.status, failed.errorCode]).toEqual(['failed', 'quota_exceeded']);
    expect(failed.errorMessage).toBe(
      'The document has 8 pages, but only 7 of your daily limit of 10 pages are left. Try again after midnight UTC or upload a shorter document.',
    );
    expect(h.bus.events.filter((e) => e.taskId === tooLong.task.id)).toEqual([
      expect.objectContaining({ status: 'failed', previousStatus: 'awaiting_upload', errorCode: 'quota_exceeded' }),
    ]);
    const jobs = await h.jobs.receive({ maxMessages: 10 });
    expect(jobs.map((m) => (m.body as { taskId: string }).taskId).sort()).toEqual([first.task.id, fits.task.id].sort());
  });

  it('lets only one of two uploads that each fit, but not together, through when they are taken in at once', async () => {
    // Prepare
    const a = await h.createTask(await pages(6));
    const b = await h.createTask(await pages(6));

    // Act
    const outcomes = await Promise.all([a, b].map(({ key }) => intakeObject({ key }, h.intakeDeps({ limits }))));

    // Assess
    expect(outcomes.sort()).toEqual(['failed', 'queued']);
  });
});

function body(bytes: Uint8Array): GetObjectCommandOutput['Body'] {
  return { transformToByteArray: async () => bytes } as unknown as GetObjectCommandOutput['Body'];
}
