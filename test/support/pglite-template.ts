/**
 * One migrated PGlite data folder per migration set, reused across test runs: PGlite's initdb
 * costs 3–4 s, copying a folder and opening the copy about 0.6 s. The cache key covers the
 * migrations' checksums, so a changed or added migration builds a new template.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { migrationChecksum, runMigrations } from '../../src/db/migrate';
import { MIGRATIONS } from '../../src/db/migrations';
import { openPgliteDatabase } from '../../src/db/pglite-database';

export interface PgliteTemplate {
  dir: string;
  version: string;
}

export async function ensurePgliteTemplate(): Promise<PgliteTemplate> {
  const key = createHash('sha256')
    .update(MIGRATIONS.map((m) => `${m.id}:${migrationChecksum(m)}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(os.tmpdir(), `untxt-pglite-template-${key}`);
  const versionFile = path.join(dir, 'UNTXT_TEMPLATE_VERSION');
  if (fs.existsSync(versionFile)) return { dir, version: fs.readFileSync(versionFile, 'utf8') };

  // Built aside and renamed into place, so a run killed half-way never leaves a broken template.
  const building = fs.mkdtempSync(path.join(os.tmpdir(), 'untxt-pglite-building-'));
  try {
    const db = await openPgliteDatabase(building);
    await runMigrations(db);
    const { rows } = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    await db.close();
    const version = rows[0]!.v.split(' ')[0]!;
    fs.writeFileSync(path.join(building, 'UNTXT_TEMPLATE_VERSION'), version);
    pruneOtherTemplates(dir);
    try {
      fs.renameSync(building, dir);
    } catch {
      // Another run finished first; its template is as good as ours.
      fs.rmSync(building, { recursive: true, force: true });
    }
    return { dir, version };
  } catch (err) {
    fs.rmSync(building, { recursive: true, force: true });
    throw err;
  }
}

/** Templates of older migration sets are dead weight (tens of MB each). */
function pruneOtherTemplates(keep: string): void {
  for (const name of fs.readdirSync(os.tmpdir())) {
    const full = path.join(os.tmpdir(), name);
    if (name.startsWith('untxt-pglite-template-') && full !== keep) fs.rmSync(full, { recursive: true, force: true });
  }
}
