import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import type { NagPack } from 'cdk-nag';
import { nagPacks } from '../../lib/nag-packs';
import { synthUntxt } from './support/synth';

type Violation = PolicyValidationPluginReport['violations'][number];

function describeViolations(violations: readonly Violation[]): string {
  return violations
    .map((v) => `${(v.severity ?? 'error').toUpperCase()} ${v.ruleName}: ${v.description}\n${v.violatingResources.map((r) => `    at ${r.constructPath}`).join('\n')}`)
    .join('\n');
}

// Prepare: synthesize once (aspects such as the default-security-group restriction have run).
const { stack } = synthUntxt();

// The packs synthesis runs (bin/untxt.ts), one test each.
const packs: Array<[string, NagPack]> = nagPacks().map((pack) => [pack.readPackName, pack]);

it('checks at least the AwsSolutions, HIPAA Security and Serverless packs', () => {
  // Assess
  expect(packs.map(([name]) => name)).toEqual(expect.arrayContaining(['AwsSolutions', 'HIPAA.Security', 'Serverless']));
});

describe.each(packs)('the %s cdk-nag pack', (_name, pack) => {
  it('reports no unacknowledged error', () => {
    // Act
    const report = pack.validateScope(stack);

    // Assess
    const errors = report.violations.filter((v) => v.severity !== 'warning');
    const warnings = report.violations.filter((v) => v.severity === 'warning');
    if (warnings.length > 0) console.warn(`unacknowledged warnings:\n${describeViolations(warnings)}`);
    if (errors.length > 0) throw new Error(`unacknowledged errors:\n${describeViolations(errors)}`);
  });
});
