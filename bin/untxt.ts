#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { loadConfig } from '../lib/config';
import { UntxtStack } from '../lib/untxt-stack';

const app = new App();
// Invalid or unknown `untxt:` context fails here, before any construct is built.
const config = loadConfig(app);
new UntxtStack(app, 'Untxt', {
  config,
  description: 'untxt: serverless OCR (documents, pipeline, database, events)',
});
app.synth();
