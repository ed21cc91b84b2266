import { createOcrEngines, ocrConfigFromEnv, pagePoolSize, type EngineFactories } from '../../inference-container/src/engine-from-env';
import { DEFAULT_QWEN_OPTIONS, QwenVllmEngine } from '../../src/ocr/qwen-vllm-engine';
import { StubEngine } from './support/stub-engine';

const QWEN = { OCR_ENGINE: 'qwen-vllm', MODEL_ID: 'Qwen/Qwen3-VL-8B-Instruct' };

/** Factories that record what they were asked for and hand out stubs that remember being closed. */
function recordingFactories(options: { tesseractFails?: boolean; orientationFails?: boolean } = {}) {
  const made: Array<{ kind: string; options: unknown; engine: { closed: boolean } }> = [];
  const stub = (kind: string, opts: unknown) => {
    const engine = Object.assign(new StubEngine(kind), { closed: false });
    engine.close = async () => void (engine.closed = true);
    made.push({ kind, options: opts, engine });
    return engine;
  };
  const factories: EngineFactories = {
    qwen: (opts) => stub('qwen', opts),
    tesseract: async (opts) => {
      if (options.tesseractFails) throw new Error('no language data');
      return stub('tesseract', opts);
    },
    orientation: async () => {
      if (options.orientationFails) throw new Error('no orientation data');
      const detector = { closed: false, detect: async () => 0 as const, close: async () => void (detector.closed = true) };
      made.push({ kind: 'orientation', options: undefined, engine: detector });
      return detector;
    },
  };
  return { made, factories };
}

describe('the OCR engines from the environment', () => {
  it('defaults to Qwen3-VL on the local vLLM with the engine\'s token cap, a Tesseract fallback and the 2.5 MP page bound', () => {
    // Act
    const config = ocrConfigFromEnv({ MODEL_ID: 'Qwen/Qwen3-VL-8B-Instruct' });

    // Assess
    expect(config).toEqual({
      engine: 'qwen-vllm',
      baseUrl: 'http://127.0.0.1:8000/v1',
      model: 'Qwen/Qwen3-VL-8B-Instruct',
      maxTokens: DEFAULT_QWEN_OPTIONS.maxTokens,
      maxTokensCeiling: DEFAULT_QWEN_OPTIONS.maxTokensCeiling,
      fallback: 'tesseract',
      maxPagePixels: 2_500_000,
    });
  });

  it('takes every variable as given, and treats an empty one as unset', () => {
    // Act
    const config = ocrConfigFromEnv({
      ...QWEN,
      VLLM_BASE_URL: 'http://10.0.0.5:9000/v1',
      OCR_MAX_TOKENS: '8192',
      OCR_FALLBACK: 'none',
      VLLM_MAX_PIXELS: '',
    });

    // Assess
    expect(config).toEqual({
      engine: 'qwen-vllm',
      baseUrl: 'http://10.0.0.5:9000/v1',
      model: QWEN.MODEL_ID,
      maxTokens: 8192,
      maxTokensCeiling: DEFAULT_QWEN_OPTIONS.maxTokensCeiling,
      fallback: 'none',
      maxPagePixels: 2_500_000,
    });
  });

  it('runs the CPU engine alone when asked for tesseract, which needs no model and never gives a page up', () => {
    // Act
    const config = ocrConfigFromEnv({ OCR_ENGINE: 'tesseract', OCR_FALLBACK: 'tesseract', VLLM_MAX_PIXELS: '4000000' });

    // Assess
    expect(config).toEqual({ engine: 'tesseract', fallback: 'none', maxPagePixels: 4_000_000 });
  });

  it.each([
    ['an unknown engine', { OCR_ENGINE: 'qwen' }, /OCR_ENGINE/],
    ['an unknown fallback', { ...QWEN, OCR_FALLBACK: 'cpu' }, /OCR_FALLBACK/],
    ['a token cap that is not a positive integer', { ...QWEN, OCR_MAX_TOKENS: '4k' }, /OCR_MAX_TOKENS/],
    ['a zero token cap', { ...QWEN, OCR_MAX_TOKENS: '0' }, /OCR_MAX_TOKENS/],
    ['a base URL that is not http', { ...QWEN, VLLM_BASE_URL: 'file:///etc/passwd' }, /VLLM_BASE_URL/],
    ['a base URL that is not a URL', { ...QWEN, VLLM_BASE_URL: '127.0.0.1:8000' }, /VLLM_BASE_URL/],
    ['no model for qwen-vllm', { OCR_ENGINE: 'qwen-vllm' }, /MODEL_ID/],
    ['a context that is not a positive integer', { ...QWEN, VLLM_MAX_MODEL_LEN: '16k' }, /VLLM_MAX_MODEL_LEN/],
    ['a context too small for the page image', { ...QWEN, VLLM_MAX_MODEL_LEN: '2698' }, /VLLM_MAX_MODEL_LEN: leaves no tokens for an answer/],
  ])('refuses to start with %s, naming the variable', (_name, env, variable) => {
    // Act
    const parse = () => ocrConfigFromEnv(env);

    // Assess
    expect(parse).toThrow(/^invalid OCR configuration: /);
    expect(parse).toThrow(variable);
  });

  it('keeps the token caps within vLLM\'s context: its size, less the largest page image\'s tokens and the prompt', () => {
    // Act: 16384 − ⌈2,500,000 / 1024⌉ − 256 = 13,686; 8192 − 2442 − 256 = 5,494; 16384 − 977 − 256 = 15,151.
    const caps = [
      ocrConfigFromEnv({ ...QWEN, OCR_MAX_TOKENS: '13686' }),
      ocrConfigFromEnv({ ...QWEN, VLLM_MAX_MODEL_LEN: '8192' }),
      ocrConfigFromEnv({ ...QWEN, VLLM_MAX_PIXELS: '1000000' }),
    ].map((config) => (config.engine === 'qwen-vllm' ? [config.maxTokens, config.maxTokensCeiling] : []));

    // Assess: the engine's defaults where they fit, the cap where they do not, the ceiling never below the first cap.
    expect(caps).toEqual([
      [13_686, 13_686],
      [5494, 5494],
      [DEFAULT_QWEN_OPTIONS.maxTokens, DEFAULT_QWEN_OPTIONS.maxTokensCeiling],
    ]);
  });

  it.each([
    ['above what the default context leaves', { OCR_MAX_TOKENS: '13687' }, 13_686],
    ['above what a smaller context leaves', { OCR_MAX_TOKENS: '8192', VLLM_MAX_MODEL_LEN: '8192' }, 5494],
    ['above what larger page images leave', { OCR_MAX_TOKENS: '12288', VLLM_MAX_PIXELS: '4000000' }, 12_221],
  ])('refuses to start with OCR_MAX_TOKENS %s, naming the variables', (_name, env, ceiling) => {
    // Act
    const parse = () => ocrConfigFromEnv({ ...QWEN, ...env });

    // Assess
    expect(parse).toThrow(`invalid OCR configuration: OCR_MAX_TOKENS: must be at most ${ceiling} (VLLM_MAX_MODEL_LEN`);
    expect(parse).toThrow(/VLLM_MAX_PIXELS/);
  });

  it('builds the Qwen engine with the pool size as its concurrency, an orientation detector started up front, and a small Tesseract pool as the fallback', async () => {
    // Prepare
    const { made, factories } = recordingFactories();

    // Act
    const engines = await createOcrEngines(ocrConfigFromEnv({ ...QWEN, OCR_MAX_TOKENS: '2048' }), { concurrency: 48 }, factories);

    // Assess
    const detector = made.find((m) => m.kind === 'orientation')?.engine;
    expect(made.map((m) => [m.kind, m.options])).toEqual([
      ['orientation', undefined],
      ['tesseract', { workers: 2 }],
      ['qwen', { baseUrl: 'http://127.0.0.1:8000/v1', model: QWEN.MODEL_ID, maxTokens: 2048, maxTokensCeiling: DEFAULT_QWEN_OPTIONS.maxTokensCeiling, concurrency: 48, orientation: detector }],
    ]);
    expect((made[2]!.options as { orientation: unknown }).orientation).toBe(detector);
    expect([engines.engine.name, engines.fallback?.name]).toEqual(['qwen', 'tesseract']);
  });

  it('closes both engines and the orientation detector on close, and has no fallback when told none', async () => {
    // Prepare
    const withFallback = recordingFactories();
    const without = recordingFactories();
    const both = await createOcrEngines(ocrConfigFromEnv(QWEN), { concurrency: 4 }, withFallback.factories);
    const alone = await createOcrEngines(ocrConfigFromEnv({ ...QWEN, OCR_FALLBACK: 'none' }), { concurrency: 4 }, without.factories);

    // Act
    await both.close();

    // Assess
    expect(withFallback.made.map((m) => [m.kind, m.engine.closed])).toEqual([
      ['orientation', true],
      ['tesseract', true],
      ['qwen', true],
    ]);
    expect(alone.fallback).toBeUndefined();
    expect(without.made.map((m) => m.kind)).toEqual(['orientation', 'qwen']);
  });

  it('closes the orientation detector again, and starts no Qwen engine, when the fallback cannot start, and reports why', async () => {
    // Prepare
    const { made, factories } = recordingFactories({ tesseractFails: true });

    // Act
    const creating = createOcrEngines(ocrConfigFromEnv(QWEN), { concurrency: 4 }, factories);

    // Assess
    await expect(creating).rejects.toThrow('no language data');
    expect(made.map((m) => [m.kind, m.engine.closed])).toEqual([['orientation', true]]);
  });

  it('closes the fallback again, and starts no Qwen engine, when the orientation detector cannot start, and reports why', async () => {
    // Prepare
    const { made, factories } = recordingFactories({ orientationFails: true });

    // Act
    const creating = createOcrEngines(ocrConfigFromEnv(QWEN), { concurrency: 4 }, factories);

    // Assess
    await expect(creating).rejects.toThrow('no orientation data');
    expect(made.map((m) => [m.kind, m.engine.closed])).toEqual([['tesseract', true]]);
  });

  it('builds the real Qwen engine, contacting nothing, named after the served model', async () => {
    // Act
    const engines = await createOcrEngines(ocrConfigFromEnv({ ...QWEN, OCR_FALLBACK: 'none' }), { concurrency: 16 });

    // Assess
    try {
      expect(engines.engine).toBeInstanceOf(QwenVllmEngine);
      expect([engines.engine.name, engines.engine.concurrency]).toEqual(['vllm/Qwen/Qwen3-VL-8B-Instruct', 16]);
    } finally {
      await engines.close();
    }
  });
});

describe('the worker\'s page pool size', () => {
  it('is half again the engine\'s concurrency by default, so pages on the CPU do not leave the model\'s batch short', () => {
    // Act
    const sizes = [pagePoolSize({}, 32), pagePoolSize({ MAX_PAGES_PREPARED: '' }, 5)];

    // Assess
    expect(sizes).toEqual([48, 8]);
  });

  it('is MAX_PAGES_PREPARED when set, down to the engine\'s concurrency', () => {
    // Act
    const sizes = [pagePoolSize({ MAX_PAGES_PREPARED: '64' }, 32), pagePoolSize({ MAX_PAGES_PREPARED: '32' }, 32)];

    // Assess
    expect(sizes).toEqual([64, 32]);
  });

  it.each(['16', '0', '-1', '2.5', 'many'])('refuses MAX_PAGES_PREPARED=%s with 32 pages in the engine, naming the variable', (value) => {
    // Act
    const size = () => pagePoolSize({ MAX_PAGES_PREPARED: value }, 32);

    // Assess
    expect(size).toThrow(/^invalid worker configuration: MAX_PAGES_PREPARED: /);
  });
});
