import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { synthUntxt } from './support/synth';
import { logicalIdOf, resourceById } from './support/template';

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
});
