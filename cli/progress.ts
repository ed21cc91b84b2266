/**
 * How `ocr` shows its files: on a terminal a bar per file, redrawn in place; elsewhere (pipes,
 * CI logs) one plain line per change; with --json nothing until the summary.
 */
export interface FileProgress {
  name: string;
  status: string;
  pagesDone: number;
  pageCount: number | null;
  note?: string;
}

export interface ProgressView {
  update(index: number, progress: FileProgress): void;
  /** A line above the bars (warnings, saved files). */
  say(line: string): void;
  finish(): void;
}

interface Writable {
  write(text: string): unknown;
  columns?: number;
}

export function createProgressView(mode: 'tty' | 'lines' | 'silent', out: Writable): ProgressView {
  if (mode === 'silent') return { update: () => undefined, say: () => undefined, finish: () => undefined };
  if (mode === 'lines') return new LineProgress(out);
  return new BarProgress(out);
}

export function describe(p: FileProgress): string {
  const pages = p.pageCount !== null ? ` ${p.pagesDone}/${p.pageCount} pages` : '';
  return `${p.status.replace('_', ' ')}${p.status === 'processing' ? pages : ''}${p.note ? ` (${p.note})` : ''}`;
}

class LineProgress implements ProgressView {
  private readonly last = new Map<number, string>();
  constructor(private readonly out: Writable) {}
  update(index: number, progress: FileProgress): void {
    const line = `${progress.name}: ${describe(progress)}`;
    if (this.last.get(index) === line) return;
    this.last.set(index, line);
    this.out.write(`${line}\n`);
  }
  say(line: string): void {
    this.out.write(`${line}\n`);
  }
  finish(): void {}
}

const BAR_WIDTH = 24;

export function bar(p: FileProgress): string {
  const fraction = p.status === 'completed' ? 1 : p.pageCount ? Math.min(1, p.pagesDone / p.pageCount) : 0;
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}

class BarProgress implements ProgressView {
  private readonly rows: FileProgress[] = [];
  private drawn = 0;
  constructor(private readonly out: Writable) {}

  update(index: number, progress: FileProgress): void {
    this.rows[index] = progress;
    this.draw();
  }

  say(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
    this.draw();
  }

  finish(): void {
    this.draw();
    this.drawn = 0;
  }

  private clear(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private draw(): void {
    this.clear();
    const width = Math.max(20, (this.out.columns || 80) - 1);
    const nameWidth = Math.min(30, Math.max(...this.rows.filter(Boolean).map((r) => r.name.length), 4));
    const lines = this.rows.filter(Boolean).map((r) => {
      const name = r.name.length > nameWidth ? `${r.name.slice(0, nameWidth - 1)}…` : r.name.padEnd(nameWidth);
      return `${name} ${bar(r)} ${describe(r)}`.slice(0, width);
    });
    if (lines.length === 0) return;
    this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}
