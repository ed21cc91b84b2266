/**
 * Prints the README's configuration table from lib/config.ts, the one place settings and their
 * defaults are defined. `npx tsx scripts/config-table.ts` — paste between the README markers
 * (a test fails when the two drift apart).
 */
import { configTable } from '../lib/config';

export function renderConfigTable(): string {
  const rows = configTable().map((r) => `| \`${r.key}\` | \`${r.default}\` | ${r.doc} |`);
  return ['| context key | default | what it sets |', '| --- | --- | --- |', ...rows].join('\n');
}

if (require.main === module) console.log(renderConfigTable());
