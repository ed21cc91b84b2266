import { App } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { ConfigError, configTable, loadConfig, parseConfig, SETTINGS } from '../../lib/config';
import { UntxtStack } from '../../lib/untxt-stack';
import { synthUntxt } from './support/synth';

/** The message of what `fn` throws (fails the test when it does not throw). */
function thrownMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
}

describe('the configuration', () => {
  it('has a default and a one-line description for every setting', () => {
    // Act
    const rows = configTable();

    // Assess
    expect(rows.map((r) => r.key)).toEqual(Object.keys(SETTINGS).map((name) => `untxt:${name}`));
    for (const row of rows) {
      expect(row.default).not.toBe('undefined');
      expect(row.doc).toMatch(/^\S.*\.$/);
      expect(row.doc).not.toContain('\n');
    }
  });

  it('uses the defaults when no context is given', () => {
    // Act
    const config = parseConfig({});

    // Assess
    expect(config).toEqual({
      databaseMinCapacity: 0,
      databaseMaxCapacity: 4,
      deletionProtection: true,
      backupRetentionDays: 7,
      uploadExpiryDays: 7,
      resultExpiryDays: 90,
      accessLogExpiryDays: 365,
      corsAllowedOrigins: [],
      intakeMaxReceiveCount: 5,
      jobsMaxReceiveCount: 10,
      queueRetentionDays: 4,
      deadLetterRetentionDays: 14,
      eventArchiveRetentionDays: 30,
      logRetentionDays: 365,
      registrationMode: 'invite',
      firstAdminEmail: 'admin@untxt.local',
      maxUploadMegabytes: 500,
      maxPages: 3000,
      maxConcurrentTasks: 10,
      maxPagesPerDay: 10_000,
      maxUploadGigabytesPerDay: 10,
      apiThrottleRateLimit: 50,
      apiThrottleBurstLimit: 100,
      apiWafRateLimit: 1000,
      apiMaxBodyKilobytes: 16,
      intakeMaxConcurrency: 5,
      intakeAgeAlarmMinutes: 15,
      jobsAgeAlarmMinutes: 60,
      alarmEmail: '',
      modelId: 'Qwen/Qwen3-VL-8B-Instruct',
      modelManifestSha256: '',
      gpuInstanceType: 'g6e.xlarge',
      gpuMaxInstances: 2,
      gpuCapacity: 'on-demand',
      scaleToZeroIdleMinutes: 15,
      maxPagesInFlight: 32,
      dataRemovalPolicy: 'retain',
    });
  });

  it('coerces the strings that -c flags pass', () => {
    // Prepare
    const app = new App({
      context: {
        'untxt:databaseMinCapacity': '0.5',
        'untxt:deletionProtection': 'false',
        'untxt:corsAllowedOrigins': 'https://app.example.com, http://localhost:5173',
        'untxt:logRetentionDays': '30',
      },
    });

    // Act
    const config = loadConfig(app);

    // Assess
    expect(config).toMatchObject({
      databaseMinCapacity: 0.5,
      deletionProtection: false,
      corsAllowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      logRetentionDays: 30,
    });
  });

  it('ignores context keys outside the untxt: prefix', () => {
    // Act
    const config = parseConfig({ '@aws-cdk/core:checkSecretUsage': true, other: 1 });

    // Assess
    expect(config.databaseMinCapacity).toBe(0);
  });

  it.each(['databaseMinCapacity', 'DatabaseMinCapacity'])('refuses the setting %s passed without its prefix, naming the intended key', (key) => {
    // Act
    const message = thrownMessage(() => parseConfig({ [key]: '0.5' }));

    // Assess
    expect(message).toContain(`${key}: not read`);
    expect(message).toContain('did you mean untxt:databaseMinCapacity?');
  });

  it('refuses an unknown untxt: key, naming it', () => {
    // Act
    const message = thrownMessage(() => parseConfig({ 'untxt:bogus': '1' }));

    // Assess
    expect(message).toMatch(/untxt:bogus: unknown setting/);
  });

  it.each([
    ['untxt:databaseMinCapacity', { 'untxt:databaseMinCapacity': '-1' }, /must not be negative/],
    ['untxt:databaseMinCapacity', { 'untxt:databaseMinCapacity': '0.3' }, /multiple of 0.5/],
    ['untxt:databaseMaxCapacity', { 'untxt:databaseMinCapacity': 8, 'untxt:databaseMaxCapacity': 4 }, /at least untxt:databaseMinCapacity/],
    ['untxt:databaseMaxCapacity', { 'untxt:databaseMaxCapacity': 0.5 }, /at least 1/],
    ['untxt:backupRetentionDays', { 'untxt:backupRetentionDays': 40 }, /at most 35/],
    ['untxt:deadLetterRetentionDays', { 'untxt:queueRetentionDays': 10, 'untxt:deadLetterRetentionDays': 7 }, /longer than untxt:queueRetentionDays/],
    ['untxt:corsAllowedOrigins', { 'untxt:corsAllowedOrigins': '*' }, /not an origin/],
    ['untxt:corsAllowedOrigins', { 'untxt:corsAllowedOrigins': 'http://app.example.com' }, /not an origin/],
    ['untxt:corsAllowedOrigins', { 'untxt:corsAllowedOrigins': 'https://app.example.com/path' }, /not an origin/],
    ['untxt:deletionProtection', { 'untxt:deletionProtection': 'maybe' }, /true or false/],
    ['untxt:logRetentionDays', { 'untxt:logRetentionDays': 10 }, /retention periods/],
    ['untxt:dataRemovalPolicy', { 'untxt:dataRemovalPolicy': 'keep' }, /retain, snapshot, destroy/],
    ['untxt:intakeMaxReceiveCount', { 'untxt:intakeMaxReceiveCount': 'abc' }, /must be a number/],
  ])('refuses an impossible %s, naming the key and why', (key, context, why) => {
    // Act
    const message = thrownMessage(() => parseConfig(context));

    // Assess
    expect(message).toContain(`${key}:`);
    expect(message).toMatch(why);
  });

  it('reports every bad key at once', () => {
    // Act
    let error: unknown;
    try {
      parseConfig({ 'untxt:bogus': 1, 'untxt:databaseMinCapacity': -1 });
    } catch (err) {
      error = err;
    }

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toHaveLength(2);
  });

  it('fails synthesis of the app on an unknown key before building anything', () => {
    // Prepare
    const app = new App({ context: { 'untxt:bogus': '1', 'aws:cdk:bundling-stacks': [] } });

    // Act
    const build = () => new UntxtStack(app, 'Untxt', { config: loadConfig(app) });

    // Assess
    expect(build).toThrow(/untxt:bogus/);
  });
});

describe('a stack synthesized with configured values', () => {
  // Prepare: one synthesis with non-default settings.
  const { stack, template } = synthUntxt({
    context: {
      'untxt:databaseMinCapacity': '0.5',
      'untxt:databaseMaxCapacity': '16',
      'untxt:deletionProtection': 'false',
      'untxt:backupRetentionDays': '14',
      'untxt:uploadExpiryDays': '3',
      'untxt:intakeMaxReceiveCount': '3',
      'untxt:eventArchiveRetentionDays': '7',
      'untxt:logRetentionDays': '90',
      'untxt:dataRemovalPolicy': 'destroy',
    },
  });

  it('applies them to the database', () => {
    // Assess
    template.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 16 },
      DeletionProtection: false,
      BackupRetentionPeriod: 14,
    });
  });

  it('applies them to the bucket, queues, archive and log groups', () => {
    // Assess
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'uploads/', ExpirationInDays: 3 })]) },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }) });
    template.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 7 });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('destroys data on stack deletion only when told to', () => {
    // Assess
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
    template.hasResource('AWS::RDS::DBCluster', { DeletionPolicy: 'Delete' });
  });

  it('warns at synth that destroy leaves the versioned buckets to be emptied, and adds no function that empties them', () => {
    // Assess
    Annotations.fromStack(stack).hasWarning('/Untxt/Storage', Match.stringLikeRegexp('not emptied automatically'));
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('omits CORS when no origin is configured', () => {
    // Assess
    expect(JSON.stringify(template.findResources('AWS::S3::Bucket'))).not.toContain('CorsConfiguration');
  });
});
