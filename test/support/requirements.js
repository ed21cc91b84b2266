/**
 * Suites that need something outside npm: a PostgreSQL server, Debian's Chromium, curl.
 * jest.config.js leaves out the files whose requirement this machine lacks — and says so at the
 * end of the run — instead of each file skipping itself. Under CI=true nothing is left out, so a
 * missing requirement fails its suite. Plain JavaScript: jest's config loads it untransformed.
 */
const fs = require('node:fs');
const path = require('node:path');

/** The newest installed server's binaries (or PG_BIN_DIR), when initdb and pg_ctl are both there. */
function findPostgresBinDir() {
  let versions = [];
  try {
    versions = fs.readdirSync('/usr/lib/postgresql');
  } catch {
    versions = [];
  }
  const candidates = process.env.PG_BIN_DIR
    ? [process.env.PG_BIN_DIR]
    : versions
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
        .map((v) => `/usr/lib/postgresql/${v}/bin`);
  return candidates.find((d) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl')));
}

function onPath(command) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, command)));
}

const CHROMIUM = process.env.UNTXT_CHROMIUM || '/usr/bin/chromium';

/** Each requirement: the test files that need it, and why it is missing here (undefined when present). */
const REQUIREMENTS = [
  {
    files: '\\.postgres\\.test\\.ts$',
    missing: () =>
      process.env.TEST_DATABASE_URL || findPostgresBinDir()
        ? undefined
        : 'no TEST_DATABASE_URL and no PostgreSQL server binaries (Debian: apt-get install postgresql)',
  },
  {
    files: 'test/e2e/browser\\.test\\.ts$',
    missing: () => (fs.existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (Debian: apt-get install chromium)`),
  },
  {
    files: 'test/api/curl\\.test\\.ts$',
    missing: () => (onPath('curl') ? undefined : 'no curl on PATH'),
  },
];

/** What this machine cannot run: `[{files, reason}]`, always empty under CI=true. */
function unmetRequirements() {
  if (process.env.CI === 'true') return [];
  return REQUIREMENTS.map((r) => ({ files: r.files, reason: r.missing() })).filter((r) => r.reason !== undefined);
}

module.exports = { CHROMIUM, findPostgresBinDir, unmetRequirements };
