import type { PolicyValidationPluginReport } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import { synthUntxt } from './support/synth';

type Violation = PolicyValidationPluginReport['violations'][number];

function describeViolations(violations: readonly Violation[]): string {
  return violations
    .map((v) => `${(v.severity ?? 'error').toUpperCase()} ${v.ruleName}: ${v.description}\n${v.violatingResources.map((r) => `    at ${r.constructPath}`).join('\n')}`)
    .join('\n');
}

// Prepare: synthesize once (aspects such as the default-security-group restriction have run).
const { stack } = synthUntxt();

const packs: Array<[string, () => NagPack]> = [
  ['AwsSolutions', () => new AwsSolutionsChecks()],
  ['HIPAA Security', () => new HIPAASecurityChecks()],
  ['Serverless', () => new ServerlessChecks()],
];

describe.each(packs)('the %s cdk-nag pack', (_name, newPack) => {
  it('reports no unacknowledged error', () => {
    // Act
    const report = newPack().validateScope(stack);

    // Assess
    const errors = report.violations.filter((v) => v.severity !== 'warning');
    const warnings = report.violations.filter((v) => v.severity === 'warning');
    if (warnings.length > 0) console.warn(`unacknowledged warnings:\n${describeViolations(warnings)}`);
    if (errors.length > 0) throw new Error(`unacknowledged errors:\n${describeViolations(errors)}`);
  });
});
