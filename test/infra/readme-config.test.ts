import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderConfigTable } from '../../scripts/config-table';

describe('the README configuration table', () => {
  it('matches the settings defined in lib/config.ts', () => {
    // Prepare
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const documented = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme)?.[1];

    // Act
    const expected = renderConfigTable();

    // Assess — on failure: npx tsx scripts/config-table.ts, and paste between the markers.
    expect(documented).toBe(expected);
  });
});
