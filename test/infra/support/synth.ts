import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../../lib/config';
import { UntxtStack } from '../../../lib/untxt-stack';

const REPO_ROOT = path.join(__dirname, '..', '..', '..');
const STAGED_WEIGHTS_KEY = 'untxt:modelManifestSha256';
const STAGED_WEIGHTS_SHA256 = '0123456789abcdef'.repeat(4);

/** The feature flags of cdk.json, so tests synthesize what `cdk synth` does. */
function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export interface SynthOptions {
  /** Extra context, e.g. `untxt:` settings as `-c` would pass them. */
  readonly context?: Record<string, unknown>;
  /** Run esbuild for NodejsFunction assets (slow); off by default. */
  readonly bundle?: boolean;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: UntxtStack;
  readonly template: Template;
}

/** Builds the app as bin/untxt.ts does, with cdk.json's flags and bundling skipped unless asked. */
export function synthUntxt(options: SynthOptions = {}): Synthesized {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      // Staged weights by default, so the "weights not staged" warning (tested on its own, with
      // this key set to '') does not print on every synthesis of the suite.
      [STAGED_WEIGHTS_KEY]: STAGED_WEIGHTS_SHA256,
      ...options.context,
    },
  });
  const stack = new UntxtStack(app, 'Untxt', { config: loadConfig(app) });
  const template = Template.fromStack(stack);
  return { app, stack, template };
}
