// Tests run on Node 20 on purpose (the local runtime's floor); the SDK's notice that future
// releases need Node 22 is known and would only bury test output. Workers inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { unmetRequirements } = require('./test/support/requirements.js');

// Suites whose requirement (PostgreSQL server, Chromium, curl) this machine lacks are left out,
// and the reporter lists them at the end of the run; under CI=true none are.
const unmet = unmetRequirements();
process.env.UNTXT_TESTS_NOT_RUN = JSON.stringify(unmet);

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...unmet.map((r) => r.files)],
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
