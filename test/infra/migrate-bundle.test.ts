import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { FileSystem } from 'aws-cdk-lib';
import { MIGRATIONS } from '../../src/db/migrations';
import { synthUntxt } from './support/synth';
import { logicalIdOf, resourceById, type CfnResourceJson } from './support/template';

describe('the migration function bundle', () => {
  // Prepare: the one synthesis in the suite that runs esbuild.
  const { app, stack, template } = synthUntxt({ bundle: true });
  const assetDir = () => {
    const fn = resourceById(template, logicalIdOf(stack, stack.migrations.function));
    const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
    return path.join(app.outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
  };

  it('is a minified CommonJS file with a source map and no source text', () => {
    // Act
    const code = readFileSync(path.join(assetDir(), 'index.js'), 'utf8');
    const map = JSON.parse(readFileSync(path.join(assetDir(), 'index.js.map'), 'utf8')) as { sourcesContent?: unknown };

    // Assess
    const lines = code.split('\n');
    expect(code).toContain('module.exports');
    // Minified: long lines (the only line breaks left are inside the migrations' SQL strings).
    expect(code.length / lines.length).toBeGreaterThan(1000);
    expect(map.sourcesContent).toBeUndefined();
  });

  it('contains the data layer and node-postgres but not the embedded PGlite database', () => {
    // Act
    const code = readFileSync(path.join(assetDir(), 'index.js'), 'utf8');

    // Assess
    expect(code).toContain('schema_migrations');
    expect(code).toContain('rds_iam');
    expect(code.match(/@electric-sql\/pglite/g) ?? []).toEqual([]);
  });

  it('stays small enough to deploy quickly', () => {
    // Act
    const bytes = statSync(path.join(assetDir(), 'index.js')).size;

    // Assess
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it('holds every migration of the index', () => {
    // Act
    const code = readFileSync(path.join(assetDir(), 'index.js'), 'utf8');

    // Assess
    for (const migration of MIGRATIONS) expect(code).toContain(migration.id);
  });

  it('names a new function version, and so re-runs the trigger, whenever its content changes', () => {
    // Prepare: the same stack with other bundle content (bundling skipped leaves a placeholder asset).
    const other = synthUntxt();
    const triggerWiring = (s: typeof stack, t: typeof template) => {
      const fnId = logicalIdOf(s, s.migrations.function);
      const trigger = Object.values(t.findResources('Custom::Trigger'))[0] as CfnResourceJson;
      const versionId = (trigger.Properties.HandlerArn as { Ref: string }).Ref;
      return {
        s3Key: (resourceById(t, fnId).Properties.Code as { S3Key: string }).S3Key,
        versionId,
        versionOf: resourceById(t, versionId).Properties.FunctionName,
        fnId,
        executeOnHandlerChange: trigger.Properties.ExecuteOnHandlerChange,
      };
    };

    // Act
    const bundled = triggerWiring(stack, template);
    const placeholder = triggerWiring(other.stack, other.template);

    // Assess: the trigger invokes a version of the migration function, named by a hash that covers
    // the code, and re-runs when that handler changes.
    expect(bundled.versionOf).toEqual({ Ref: bundled.fnId });
    expect(bundled.executeOnHandlerChange).toBe(true);
    expect(bundled.s3Key).not.toEqual(placeholder.s3Key);
    expect(bundled.versionId).not.toEqual(placeholder.versionId);
  });

  it('is addressed by a hash of the bundled bytes, so a new migration changes the asset', () => {
    // Act
    const s3Key = (resourceById(template, logicalIdOf(stack, stack.migrations.function)).Properties.Code as { S3Key: string }).S3Key;

    // Assess
    expect(s3Key).toBe(`${FileSystem.fingerprint(assetDir())}.zip`);
  });
});
