#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { ConfigError, loadConfig, type UntxtConfig } from '../lib/config';
import { nagPacks } from '../lib/nag-packs';
import { UntxtStack } from '../lib/untxt-stack';

const app = new App();
/** Invalid or unknown `untxt:` context fails here, before any construct is built, with the message alone. */
function configOrExit(): UntxtConfig {
  try {
    return loadConfig(app);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(1);
  }
}
const config = configOrExit();
new UntxtStack(app, 'Untxt', {
  config,
  description: 'untxt: serverless OCR (documents, pipeline, database, events)',
});
// Synthesis fails on any finding that is not acknowledged next to the construct it concerns.
Validations.of(app).addPlugins(...nagPacks(app));
app.synth();
