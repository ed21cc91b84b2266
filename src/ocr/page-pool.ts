/**
 * A bound on pages in flight: at most `size` holders at once, first come first served. The
 * worker bounds pages across all its jobs with one (the model server batches whatever is in
 * flight, and one page at a time would leave most of a GPU idle; the bound keeps memory, the
 * rendered pages, and the server's queue in check); the Qwen engine bounds its requests to the
 * server with another. FIFO, so a long document cannot starve one queued after it for ever.
 */
export class PagePool {
  private active = 0;
  private readonly waiting: Array<{ grant: () => void }> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('size must be a positive integer');
  }

  get inFlight(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Waits for a free slot and returns its release (idempotent). A waiting entry is dropped when
   * `signal` aborts. A caller that waits for one slot at a time keeps one abort listener on
   * `signal`, however much work it has queued up.
   */
  async slot(signal?: AbortSignal): Promise<() => void> {
    await this.acquire(signal);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release();
    };
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.size) {
      this.take();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.take();
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private take(): void {
    this.active += 1;
  }

  private release(): void {
    this.active -= 1;
    const next = this.waiting.shift();
    if (next) next.grant();
  }
}
