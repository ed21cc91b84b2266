#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, HIPAASecurityChecks, ServerlessChecks } from 'cdk-nag';
import { loadConfig } from '../lib/config';
import { UntxtStack } from '../lib/untxt-stack';

const app = new App();
// Invalid or unknown `untxt:` context fails here, before any construct is built.
const config = loadConfig(app);
new UntxtStack(app, 'Untxt', {
  config,
  description: 'untxt: serverless OCR (documents, pipeline, database, events)',
});
// Synthesis fails on any finding that is not acknowledged next to the construct it concerns.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app), new ServerlessChecks(app));
app.synth();
