/**
 * `untxt ocr <files…>`: for each file a task (type from the extension, SHA-256 and size of the
 * bytes), the upload through the presigned URL with exactly the signed headers, the task followed
 * to its end, and the result saved as `<out>/<name>.<ext>`. A few files are in flight at once; a
 * quota answer (429) waits its Retry-After and tries again.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { UPLOAD_TYPES } from '../src/domain/upload-types';
import type { ResultFormat } from './args';
import type { ApiClient } from './client';
import { CliError, EXIT, type ExitCode } from './exit-codes';
import { TaskFollower, type TaskView } from './follow';
import { createProgressView, type FileProgress } from './progress';

/** Upload types by extension, from the service's own list. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(UPLOAD_TYPES).flatMap(([type, extensions]) => extensions.map((extension) => [extension, type])),
);

export const RESULT_EXTENSIONS: Record<ResultFormat, string> = { html: 'html', text: 'txt', json: 'json' };

/** Files uploaded and followed at once (the service allows 10 unfinished tasks per user). */
const FILES_IN_FLIGHT = 4;
const MAX_QUOTA_WAIT_S = 120;

export interface OcrContext {
  client: ApiClient;
  progress: 'tty' | 'lines' | 'silent';
  /** Where progress goes (stderr, so stdout stays for --json). */
  progressOut: { write(text: string): unknown; columns?: number };
  followerOptions?: ConstructorParameters<typeof TaskFollower>[1];
}

export interface FileOutcome {
  file: string;
  taskId: string | null;
  status: string;
  pageCount: number | null;
  output: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  exitCode: ExitCode;
}

export function contentTypeOf(file: string): string {
  const extension = extname(file).slice(1).toLowerCase();
  const type = CONTENT_TYPES[extension];
  if (!type) {
    throw new CliError(`${file}: cannot tell its type from the extension; use one of ${Object.keys(CONTENT_TYPES).map((e) => `.${e}`).join(' ')}`, EXIT.usage, 'unsupported_type');
  }
  return type;
}

/** `<name>.<ext>` per input; inputs that would share a name keep their whole file name instead. */
export function outputNames(files: readonly string[], format: ResultFormat): string[] {
  const stem = (f: string) => basename(f, extname(f));
  const counts = new Map<string, number>();
  for (const f of files) counts.set(stem(f), (counts.get(stem(f)) ?? 0) + 1);
  return files.map((f, i) => {
    const name = counts.get(stem(f))! > 1 ? basename(f) : stem(f);
    const base = `${name}.${RESULT_EXTENSIONS[format]}`;
    // Even whole names can repeat (a/x.pdf, b/x.pdf): number the later ones.
    const earlier = files.slice(0, i).filter((g) => basename(g) === basename(f)).length;
    return earlier > 0 && counts.get(stem(f))! > 1 ? `${name}-${earlier + 1}.${RESULT_EXTENSIONS[format]}` : base;
  });
}

export async function runOcr(files: string[], format: ResultFormat, outDir: string, ctx: OcrContext): Promise<FileOutcome[]> {
  // Everything that can be checked locally is, before any task is created.
  for (const file of files) {
    contentTypeOf(file);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new CliError(`${file}: not a readable file`, EXIT.usage, 'file_not_found');
    if (info.size === 0) throw new CliError(`${file}: the file is empty`, EXIT.usage, 'empty_file');
  }
  await mkdir(outDir, { recursive: true });
  const names = outputNames(files, format);
  const view = createProgressView(ctx.progress, ctx.progressOut);
  const rows: FileProgress[] = files.map((file) => ({ name: basename(file), status: 'waiting', pagesDone: 0, pageCount: null }));
  rows.forEach((row, i) => view.update(i, row));
  const indexOfTask = new Map<string, number>();
  const follower = new TaskFollower(ctx.client, {
    ...ctx.followerOptions,
    onUpdate: (task) => {
      const i = indexOfTask.get(task.id);
      if (i === undefined) return;
      rows[i] = { ...rows[i]!, status: task.status, pagesDone: task.pagesDone, pageCount: task.pageCount, note: task.errorCode ?? undefined };
      view.update(i, rows[i]!);
    },
  });
  await follower.start();
  const outcomes: FileOutcome[] = new Array(files.length);
  try {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < files.length) {
        const i = next++;
        outcomes[i] = await processFile(files[i]!, join(outDir, names[i]!), format, {
          ctx,
          follower,
          setNote: (note) => {
            rows[i] = { ...rows[i]!, note };
            view.update(i, rows[i]!);
          },
          track: (id) => indexOfTask.set(id, i),
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(FILES_IN_FLIGHT, files.length) }, lane));
  } finally {
    follower.close();
    view.finish();
  }
  return outcomes;
}

interface FileDeps {
  ctx: OcrContext;
  follower: TaskFollower;
  setNote: (note: string | undefined) => void;
  track: (taskId: string) => void;
}

async function processFile(file: string, output: string, format: ResultFormat, deps: FileDeps): Promise<FileOutcome> {
  const { client } = deps.ctx;
  let taskId: string | null = null;
  try {
    const bytes = await readFile(file);
    const created = await createTask(client, {
      filename: basename(file),
      contentType: contentTypeOf(file),
      size: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    }, deps.setNote);
    taskId = created.task.id;
    deps.track(taskId);
    const settled = deps.follower.follow(created.task);
    await client.upload(created.upload.url, created.upload.method, created.upload.headers, bytes);
    let final = await settled;
    if (final.status === 'completed') {
      await writeFile(output, await downloadResult(client, taskId, format));
      return outcome(file, final, output, EXIT.ok);
    }
    if (final.status === 'failed' && final.errorMessage === null) {
      final = (await client.json<{ task: TaskView }>('GET', `/v1/tasks/${taskId}`)).task;
    }
    return outcome(file, final, null, EXIT.taskFailed);
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode === EXIT.auth) throw error;
    deps.setNote(error.code);
    return { file, taskId, status: 'error', pageCount: null, output: null, errorCode: error.code ?? null, errorMessage: error.message, exitCode: error.exitCode };
  }
}

function outcome(file: string, task: TaskView, output: string | null, exitCode: ExitCode): FileOutcome {
  return { file, taskId: task.id, status: task.status, pageCount: task.pageCount, output, errorCode: task.errorCode, errorMessage: task.errorMessage, exitCode };
}

interface Created {
  task: TaskView;
  upload: { url: string; method: string; headers: Record<string, string> };
}

/** POST /v1/tasks; on 429 waits the answer's Retry-After (capped) and asks again. */
async function createTask(client: ApiClient, body: Record<string, unknown>, setNote: (note: string | undefined) => void): Promise<Created> {
  for (;;) {
    const response = await client.request('POST', '/v1/tasks', { body, accept: [429] });
    if (response.status !== 429) return (await response.json()) as Created;
    const retryAfter = Number(response.headers.get('retry-after') ?? '30');
    const problem = (await response.json().catch(() => ({}))) as { code?: string };
    // A daily quota resets at midnight UTC: waiting hours is not what a user asked for.
    if (!(retryAfter > 0 && retryAfter <= MAX_QUOTA_WAIT_S)) {
      throw new CliError(`${problem.code ?? 'quota_exceeded'}: the daily quota is used up (retry after ${retryAfter} s)`, EXIT.refused, problem.code ?? 'quota_exceeded');
    }
    setNote(`too many unfinished tasks; retrying in ${retryAfter} s`);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    setNote(undefined);
  }
}

/** A completed task's result: html through its presigned URL, text and json inline (or via a 303). */
export async function downloadResult(client: ApiClient, taskId: string, format: ResultFormat): Promise<Buffer> {
  const path = `/v1/tasks/${encodeURIComponent(taskId)}/result?format=${format}`;
  const response = await client.request('GET', path, { accept: [303] });
  if (format === 'html' || response.status === 303) {
    const { url } = (await response.json()) as { url: string };
    return client.fetchPresigned(url);
  }
  return Buffer.from(await response.arrayBuffer());
}
