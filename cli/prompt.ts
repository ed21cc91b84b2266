/** Reading an email and a password: from a terminal (the password not echoed) or from stdin. */
import { createInterface } from 'node:readline';
import { CliError, EXIT } from './exit-codes';

export interface Terminal {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stderr: NodeJS.WritableStream;
}

export function askLine(question: string, io: Terminal): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
    rl.question(question, (answer) => {
      rl.close();
      resolve(answer.trim());
    });
  });
}

/** A password typed on the terminal, echoed as nothing; Ctrl-C ends the command (130). */
export function askSecret(question: string, io: Terminal): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = io.stdin;
    io.stderr.write(question);
    input.setRawMode?.(true);
    input.resume();
    let value = '';
    const finish = (error?: CliError): void => {
      input.setRawMode?.(false);
      input.pause();
      input.removeListener('data', onData);
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new CliError('interrupted', EXIT.interrupted, 'interrupted'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    input.on('data', onData);
  });
}

/** All of stdin, without the one line ending a shell's `echo` or a file adds. */
export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}
