// Tests run on Node 20 on purpose (the local runtime's floor); the SDK's notice that future
// releases need Node 22 is known and would only bury test output. Workers inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }],
  },
  // ESM-only dependencies (e.g. PGlite) are loaded through dynamic import; let Node handle them.
  // jose ships ESM only; swc turns it into CommonJS like our own sources.
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
  reporters: ['default', '<rootDir>/test/support/data-suite-reporter.js'],
  testTimeout: 60_000,
  // Two cores on CI; CDK synth and PGlite are memory-hungry, so keep workers modest.
  maxWorkers: 2,
};
