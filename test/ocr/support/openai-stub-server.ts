/**
 * A stand-in for vLLM's OpenAI-compatible server: `POST /v1/chat/completions` answered from a
 * script, one scripted reply per request, with token log-probabilities like vLLM's. It records
 * each request and how many requests were in flight when it arrived (itself included), which is
 * how the tests measure that the engine and the worker keep the server busy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface ScriptedReply {
  /** The answer text; default an empty document. */
  content?: string;
  /** Default `stop`. */
  finishReason?: string | null;
  /** An HTTP error status instead of an answer. */
  status?: number;
  /** The `message` of that error, as vLLM words it; default `scripted error`. */
  errorMessage?: string;
  /** Time the server takes before answering. */
  latencyMs?: number;
  /** Never answers: the client has to give up. */
  hang?: boolean;
  /** Per-token log-probability; default -0.05. */
  logprob?: number;
  /** Leave `logprobs` out of the answer. */
  noLogprobs?: boolean;
  /** Send this body as it is (e.g. JSON that is not a chat completion). */
  rawBody?: string;
}

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: Array<{ type: string; text?: string; image_url?: { url: string } }> }>;
  max_tokens?: number;
  temperature?: number;
  logprobs?: boolean;
  [key: string]: unknown;
}

export type Script = (request: ChatRequest, index: number) => ScriptedReply | Promise<ScriptedReply>;

export class OpenAiStubServer {
  readonly requests: ChatRequest[] = [];
  /** In-flight count at each request's arrival, itself included, in arrival order. */
  readonly inFlightAtArrival: number[] = [];
  /**
   * Per request, in arrival order: the most requests in flight at once while it was (itself
   * included). Requests sent in waves (all answered together, the next ones sent together) each
   * see the full wave, where a count at arrival sees 1, 2, 3, … within it.
   */
  readonly inFlightDuring: number[] = [];
  /** Requests whose client went away before the answer. */
  abandoned = 0;
  private active = 0;
  private peak = 0;
  private readonly open = new Set<number>();

  private constructor(
    private readonly server: Server,
    public script: Script,
  ) {}

  static async start(script: Script = () => ({})): Promise<OpenAiStubServer> {
    const server = createServer();
    const stub = new OpenAiStubServer(server, script);
    server.on('request', (req, res) => void stub.handle(req, res));
    // Keep-alive sockets must not hold `close` up.
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return stub;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  get inFlight(): number {
    return this.active;
  }

  get peakInFlight(): number {
    return this.peak;
  }

  /** The text prompt and the image's pixel size of request `i`. */
  async promptOf(i: number): Promise<{ text: string[]; image: { width: number; height: number; hasAlpha: boolean } }> {
    const content = this.requests[i]!.messages[0]!.content;
    const url = content.find((c) => c.type === 'image_url')!.image_url!.url;
    const meta = await sharp(Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64')).metadata();
    return { text: content.filter((c) => c.type === 'text').map((c) => c.text!), image: { width: meta.width!, height: meta.height!, hasAlpha: meta.hasAlpha } };
  }

  /** Forgets what was recorded (the counts of requests still in flight stay right). */
  reset(): void {
    this.requests.length = 0;
    this.inFlightAtArrival.length = 0;
    this.inFlightDuring.length = 0;
    this.abandoned = 0;
    this.peak = this.active;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const request = JSON.parse(Buffer.concat(chunks).toString()) as ChatRequest;
    const index = this.requests.push(request) - 1;
    this.active += 1;
    this.peak = Math.max(this.peak, this.active);
    this.inFlightAtArrival.push(this.active);
    this.open.add(index);
    for (const i of this.open) this.inFlightDuring[i] = Math.max(this.inFlightDuring[i] ?? 0, this.active);
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      this.active -= 1;
      this.open.delete(index);
    };
    res.on('close', () => {
      if (!res.writableFinished) this.abandoned += 1;
      settle();
    });
    const reply = await this.script(request, index);
    if (reply.hang) return;
    if (reply.latencyMs) await new Promise((r) => setTimeout(r, reply.latencyMs));
    if (res.destroyed) return;
    // Counted out before the bytes leave: the client may send its next request on seeing them.
    settle();
    if (reply.status && reply.status >= 400) {
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'error', message: reply.errorMessage ?? 'scripted error', code: reply.status }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(reply.rawBody ?? JSON.stringify(completion(request, reply)));
  }
}

function completion(request: ChatRequest, reply: ScriptedReply): unknown {
  const content = reply.content ?? '';
  return {
    id: 'chatcmpl-stub',
    object: 'chat.completion',
    created: 0,
    model: request.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, tool_calls: [] },
        logprobs: reply.noLogprobs ? null : { content: tokens(content).map((token) => ({ token, logprob: reply.logprob ?? -0.05, bytes: [...Buffer.from(token)], top_logprobs: [] })) },
        finish_reason: reply.finishReason === undefined ? 'stop' : reply.finishReason,
        stop_reason: null,
      },
    ],
    usage: { prompt_tokens: 1000, completion_tokens: tokens(content).length, total_tokens: 1000 + tokens(content).length },
  };
}

/** Tokens of up to three characters, as a tokenizer might cut the text. */
export function tokens(text: string): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += 3) out.push(chars.slice(i, i + 3).join(''));
  return out;
}

/** A page to send: black lines of text on white, as PNG (or raw RGBA), so the blank check lets it through. */
export async function textPage(width = 400, height = 600, options: { format?: 'png' | 'rgba'; lines?: number } = {}) {
  const lines = Array.from({ length: options.lines ?? 6 }, (_, i) => `<text x="20" y="${40 + i * 30}" font-family="DejaVu Sans" font-size="20">Line ${i + 1} of the page</text>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#fff"/>${lines}</svg>`;
  const image = sharp(Buffer.from(svg));
  const data = options.format === 'rgba' ? await image.ensureAlpha().raw().toBuffer() : await image.png().toBuffer();
  return { page: 1, width, height, format: options.format ?? 'png', data: new Uint8Array(data) } as const;
}

/** A blank page: white with a little scanner noise. */
export async function blankPage(width = 400, height = 600) {
  const noise = Buffer.alloc(width * height * 4);
  for (let i = 0; i < noise.length; i += 4) {
    const v = 245 + ((i * 7919) % 11);
    noise[i] = noise[i + 1] = noise[i + 2] = v;
    noise[i + 3] = 255;
  }
  return { page: 1, width, height, format: 'rgba', data: new Uint8Array(noise) } as const;
}
