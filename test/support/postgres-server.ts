/**
 * A throwaway PostgreSQL cluster for one test run: initdb into a temp folder, start on a free
 * port (TCP on 127.0.0.1 only, unix socket inside the folder), trust auth, durability off.
 * Runs the server binaries as `postgres` when we are root (initdb refuses root).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ThrowawayServer {
  url: string;
  dir: string;
  binDir: string;
  stop(): void;
}

export { findPostgresBinDir } from './requirements';

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) {
    throw new Error('running as root, but there is no "postgres" user to run initdb as');
  }
  return { uid, gid };
}

function runAsServerUser(bin: string, args: string[], asPostgres: boolean): SpawnSyncReturns<string> {
  const [cmd, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
}

function check(step: string, res: SpawnSyncReturns<string>, logFile?: string): void {
  if (res.status === 0) return;
  const log = logFile && fs.existsSync(logFile) ? `\n--- server log ---\n${fs.readFileSync(logFile, 'utf8')}` : '';
  throw new Error(`${step} failed (${res.status ?? res.signal}): ${res.stderr || res.stdout}${res.error ? String(res.error) : ''}${log}`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startThrowawayServer(binDir: string): Promise<ThrowawayServer> {
  const asPostgres = process.getuid?.() === 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'untxt-pg-'));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  if (asPostgres) {
    const { uid, gid } = postgresIds();
    fs.chownSync(dir, uid, gid);
  }
  let started = false;
  const stop = (): void => {
    if (started) {
      runAsServerUser(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], asPostgres);
      started = false;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    check(
      'initdb',
      runAsServerUser(
        path.join(binDir, 'initdb'),
        ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
        asPostgres,
      ),
    );
    const port = await freePort();
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses='127.0.0.1'",
      // A test cluster: durability buys nothing, and these make it several times faster.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    started = true;
    check(
      'pg_ctl start',
      runAsServerUser(path.join(binDir, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '30', 'start'], asPostgres),
      logFile,
    );
    return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, dir, binDir, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
