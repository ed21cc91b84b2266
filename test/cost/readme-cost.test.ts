import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GPU_INSTANCE_TYPES } from '../../lib/gpu-instances';
import { COST_ASSUMPTIONS } from '../../scripts/cost-assumptions';
import { readBlock, renderIdleSection, renderPerPageSection, synthesizeTemplate } from '../../scripts/cost';
import { costReport, type CfnTemplate } from '../../scripts/cost-model';

// On failure: npm run cost -- --readme, and commit README.md.
const readme = (): string => readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('the README cost section', () => {
  it('shows the per-page table the assumptions give', () => {
    // Prepare
    const documented = readBlock(readme(), 'cost-per-page');

    // Act
    const expected = renderPerPageSection(costReport({}, GPU_INSTANCE_TYPES, COST_ASSUMPTIONS), COST_ASSUMPTIONS);

    // Assess
    expect(documented).toBe(expected);
  });

  describe('for the synthesized app', () => {
    // The one synthesis of this folder (about 15–30 s).
    let template: CfnTemplate;
    beforeAll(() => {
      template = synthesizeTemplate();
    }, 180_000);

    it('shows the idle bill counted from the template', () => {
      // Prepare
      const documented = readBlock(readme(), 'cost-idle');

      // Act
      const expected = renderIdleSection(costReport(template, GPU_INSTANCE_TYPES, COST_ASSUMPTIONS));

      // Assess
      expect(documented).toBe(expected);
    });

    it('finds the interface endpoints and keys the stack keeps running, and no GPU instance at idle', () => {
      // Act
      const items = costReport(template, GPU_INSTANCE_TYPES, COST_ASSUMPTIONS).idle.items;

      // Assess
      expect(items.filter((i) => i.what.startsWith('Interface endpoint')).length).toBeGreaterThan(0);
      expect(items.some((i) => i.what === 'KMS customer managed keys' && i.quantity > 0)).toBe(true);
      expect(items.filter((i) => i.what.startsWith('Auto Scaling group')).every((i) => i.monthly === 0)).toBe(true);
    });
  });
});
