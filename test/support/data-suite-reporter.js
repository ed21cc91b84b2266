/**
 * Jest reporter that states, at the end of every run, which database backends the repository
 * suite actually ran on, and — under CI=true — fails the run when the PostgreSQL server suite
 * was selected but did not pass a single test (a skip must never look like a pass in CI).
 * Plain JavaScript because jest loads reporters before any transform is set up.
 */
const path = require('node:path');

const DATA_SUITE = /test[\\/]db[\\/]repositories\.[a-z]+\.test\.ts$/;
const SERVER_TITLE = 'repositories on PostgreSQL server';

class DataSuiteReporter {
  constructor() {
    this.error = undefined;
  }

  onRunComplete(_contexts, results) {
    const counts = new Map();
    let serverFileRan = false;
    for (const file of results.testResults) {
      if (!DATA_SUITE.test(file.testFilePath)) continue;
      if (/postgres\.test\.ts$/.test(file.testFilePath)) serverFileRan = true;
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
    const lines = [...counts].map(
      ([title, c]) => `  ${title}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`,
    );
    process.stdout.write(`\nRepository suite backends:\n${lines.join('\n')}\n`);
    const serverPassed = [...counts].some(([title, c]) => title.startsWith(SERVER_TITLE) && c.passed > 0);
    if (process.env.CI === 'true' && serverFileRan && !serverPassed) {
      this.error = new Error('CI=true: the repository suite did not run on a PostgreSQL server');
      process.stderr.write(`${this.error.message}\n`);
    }
  }

  getLastError() {
    return this.error;
  }
}

module.exports = DataSuiteReporter;
