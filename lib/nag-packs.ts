import { AwsSolutionsChecks, HIPAASecurityChecks, ServerlessChecks, type NagPack } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * The cdk-nag packs every synthesis runs (bin/untxt.ts) and test/infra/nag.test.ts checks, one
 * list so the two cannot drift apart. `scope` is where a pack reports (the app, at synthesis).
 */
export function nagPacks(scope?: IConstruct): NagPack[] {
  return [new AwsSolutionsChecks(scope), new HIPAASecurityChecks(scope), new ServerlessChecks(scope)];
}
