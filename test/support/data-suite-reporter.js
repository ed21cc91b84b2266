/**
 * Jest reporter that states, at the end of every run, which database backends the data suites
 * (`*.pglite.test.ts` and `*.postgres.test.ts`: the repository suite, the API core suites, the
 * role grants) actually ran on, and — under CI=true — fails the run when a PostgreSQL server file
 * was selected but did not pass a single test (a skip must never look like a pass in CI). It also
 * lists the suites jest.config.js left out because this machine lacks what they need.
 * Plain JavaScript because jest loads reporters before any transform is set up.
 */
const path = require('node:path');

const DATA_SUITE = /\.(pglite|postgres)\.test\.ts$/;
const SERVER_FILE = /\.postgres\.test\.ts$/;
const SERVER_TITLE = /PostgreSQL server/;

class DataSuiteReporter {
  constructor() {
    this.error = undefined;
  }

  onRunComplete(_contexts, results) {
    this.reportLeftOut();
    this.reportBackends(results);
  }

  /** Files left out by jest.config.js (never under CI=true), so a missing server is never silent. */
  reportLeftOut() {
    const leftOut = JSON.parse(process.env.UNTXT_TESTS_NOT_RUN || '[]');
    if (leftOut.length === 0) return;
    const lines = leftOut.map((r) => `  /${r.files}/: ${r.reason}`);
    process.stdout.write(`\nNot run on this machine (CI=true runs them all):\n${lines.join('\n')}\n`);
  }

  reportBackends(results) {
    const counts = new Map();
    const serverFilesWithoutPass = [];
    let serverFileRan = false;
    for (const file of results.testResults) {
      if (!DATA_SUITE.test(file.testFilePath)) continue;
      const serverFile = SERVER_FILE.test(file.testFilePath);
      if (serverFile) serverFileRan = true;
      if (serverFile && !file.testResults.some((t) => t.status === 'passed' && SERVER_TITLE.test(t.ancestorTitles[0] || ''))) {
        serverFilesWithoutPass.push(path.relative(process.cwd(), file.testFilePath));
      }
      for (const t of file.testResults) {
        const title = t.ancestorTitles[0] || path.basename(file.testFilePath);
        const c = counts.get(title) || { passed: 0, failed: 0, skipped: 0 };
        if (t.status === 'passed') c.passed += 1;
        else if (t.status === 'failed') c.failed += 1;
        else c.skipped += 1;
        counts.set(title, c);
      }
    }
    if (counts.size === 0 && !serverFileRan) return;
    const lines = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(
      ([title, c]) => `  ${title}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`,
    );
    process.stdout.write(`\nDatabase suite backends:\n${lines.join('\n')}\n`);
    if (process.env.CI === 'true' && serverFilesWithoutPass.length > 0) {
      this.error = new Error(`CI=true: these suites did not run on a PostgreSQL server: ${serverFilesWithoutPass.join(', ')}`);
      process.stderr.write(`${this.error.message}\n`);
    }
  }

  getLastError() {
    return this.error;
  }
}

module.exports = DataSuiteReporter;
