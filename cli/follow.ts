/**
 * Follows tasks to a final state: one WebSocket for all of them (status messages applied by the
 * seq rule of src/realtime/messages.ts), with the HTTP API as the truth. After every (re)connect
 * each task is read once over HTTP (messages sent while no socket was open are gone); when the
 * socket drops, a new ticket is fetched with backoff and tasks are polled meanwhile; where the
 * service has no WebSocket, polling alone does the job.
 */
import WebSocket from 'ws';
import { isTaskStatus, isTerminal } from '../src/domain/task';
import { isNewerStatus, taskStatusMessageSchema, type TaskStatusMessage } from '../src/realtime/messages';
import type { ApiClient } from './client';
import { CliError, EXIT } from './exit-codes';

export interface TaskView {
  id: string;
  status: string;
  pagesDone: number;
  pageCount: number | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** A view's status comes off the wire as a string; one the service does not know never ends. */
const ended = (status: string): boolean => isTaskStatus(status) && isTerminal(status);

export interface FollowerOptions {
  /** Called whenever a task's view changes. */
  onUpdate?: (view: TaskView) => void;
  /** Polling while no socket is open. */
  pollMs?: number;
  /** Polling while the socket is open: messages are hints and may be lost. */
  safetyPollMs?: number;
  /** Longest wait between reconnects. */
  maxBackoffMs?: number;
  /** Disables the WebSocket (tests of the polling path). */
  webSocket?: boolean;
}

interface Followed {
  view: TaskView;
  last?: Pick<TaskStatusMessage, 'seq' | 'status' | 'pagesDone'>;
  done: (view: TaskView) => void;
  fail: (error: unknown) => void;
  settled: Promise<TaskView>;
}

export class TaskFollower {
  private readonly tasks = new Map<string, Followed>();
  private socket: WebSocket | undefined;
  private connected = false;
  private closed = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly options: Required<FollowerOptions>;

  constructor(
    private readonly client: ApiClient,
    options: FollowerOptions = {},
  ) {
    this.options = { onUpdate: () => undefined, pollMs: 2000, safetyPollMs: 10_000, maxBackoffMs: 15_000, webSocket: true, ...options };
  }

  /** Opens the socket (best effort: without one, polling follows the tasks). Call before uploading. */
  async start(): Promise<void> {
    if (this.options.webSocket) await this.connect();
    this.schedulePoll();
  }

  /** Resolves with the task's final view (completed, failed or deleted). */
  follow(view: TaskView): Promise<TaskView> {
    const existing = this.tasks.get(view.id);
    if (existing) return existing.settled;
    let done!: (v: TaskView) => void;
    let fail!: (e: unknown) => void;
    const settled = new Promise<TaskView>((resolve, reject) => {
      done = resolve;
      fail = reject;
    });
    this.tasks.set(view.id, { view, done, fail, settled });
    this.options.onUpdate(view);
    if (ended(view.status)) done(view);
    return settled;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pollTimer);
    clearInterval(this.pingTimer);
    this.socket?.terminate();
  }

  private pending(): Followed[] {
    return [...this.tasks.values()].filter((t) => !ended(t.view.status));
  }

  private async connect(): Promise<void> {
    let url: string;
    try {
      ({ url } = await this.client.json<{ url: string }>('POST', '/v1/ws-ticket', { body: {} }));
    } catch (error) {
      // Authentication problems end the command; anything else leaves polling to do the work.
      if (error instanceof CliError && error.exitCode === EXIT.auth) throw error;
      this.scheduleReconnect();
      return;
    }
    await new Promise<void>((resolve) => {
      const socket = new WebSocket(url);
      this.socket = socket;
      socket.on('open', () => {
        this.connected = true;
        this.attempts = 0;
        // API Gateway drops a connection silent for 10 minutes.
        this.pingTimer = setInterval(() => socket.send(JSON.stringify({ action: 'ping' })), 5 * 60_000);
        resolve();
        // Catch up on what happened while no socket was open.
        void this.pollAll();
      });
      socket.on('message', (data) => this.onMessage(data.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        const wasConnected = this.connected;
        this.connected = false;
        clearInterval(this.pingTimer);
        resolve();
        if (!this.closed) {
          if (wasConnected) this.schedulePoll(0);
          this.scheduleReconnect();
        }
      });
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.pending().length === 0 && this.tasks.size > 0) return;
    const delay = Math.min(this.options.maxBackoffMs, 500 * 2 ** this.attempts);
    this.attempts += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((error: unknown) => this.failAll(error));
    }, delay);
  }

  private schedulePoll(delay = this.connected ? this.options.safetyPollMs : this.options.pollMs): void {
    if (this.closed) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => {
      void this.pollAll().finally(() => this.schedulePoll());
    }, delay);
  }

  private async pollAll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const task of this.pending()) {
        try {
          const { task: view } = await this.client.json<{ task: TaskView }>('GET', `/v1/tasks/${task.view.id}`);
          this.apply(task, view);
        } catch (error) {
          if (error instanceof CliError && error.exitCode === EXIT.notFound) {
            this.apply(task, { ...task.view, status: 'deleted' });
          } else if (error instanceof CliError && error.exitCode === EXIT.auth) {
            this.failAll(error);
            return;
          }
          // Network trouble: the next poll tries again.
        }
      }
    } finally {
      this.polling = false;
    }
  }

  private onMessage(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return;
    }
    const message = taskStatusMessageSchema.safeParse(parsed);
    if (!message.success) return; // pong, or a field this version does not know
    const task = this.tasks.get(message.data.taskId);
    if (!task || !isNewerStatus(task.last, message.data)) return;
    task.last = message.data;
    this.apply(task, {
      ...task.view,
      status: message.data.status,
      pagesDone: message.data.pagesDone,
      pageCount: message.data.pageCount,
      errorCode: message.data.errorCode ?? task.view.errorCode,
    });
  }

  /** Moves a task's view forward (never back: a poll may read an older state than a message). */
  private apply(task: Followed, next: TaskView): void {
    if (ended(task.view.status)) return;
    const merged: TaskView = {
      ...task.view,
      ...next,
      status: rank(next.status) >= rank(task.view.status) ? next.status : task.view.status,
      pagesDone: Math.max(task.view.pagesDone, next.pagesDone),
      pageCount: next.pageCount ?? task.view.pageCount,
    };
    const changed = merged.status !== task.view.status || merged.pagesDone !== task.view.pagesDone || merged.pageCount !== task.view.pageCount;
    task.view = merged;
    if (changed) this.options.onUpdate(merged);
    if (ended(merged.status)) task.done(merged);
  }

  private failAll(error: unknown): void {
    for (const task of this.pending()) task.fail(error);
    this.close();
  }
}

const ORDER = ['awaiting_upload', 'queued', 'processing', 'completed', 'failed', 'deleted'];
const rank = (status: string): number => {
  const i = ORDER.indexOf(status);
  return i === -1 ? 0 : i >= 3 ? 3 : i;
};
