// Prints "N passed, N failed" from vitest's JSON results; exits 1 on any failure or when vitest
// produced no results (setup failed before the tests ran — counted as one failure). The test
// command's exit status is the second argument: vitest also fails a run for errors outside any
// test (an uncaught exception), which its JSON does not count; that counts as one failure too.
import fs from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
const commandStatus = Number(process.argv[3] ?? 0);
let passed = 0;
let failed = 1;
if (fs.existsSync(file)) {
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed = results.numPassedTests ?? 0;
  // Suites that fail to load count too: their tests never ran.
  const failedSuites = (results.testResults ?? []).filter((suite) => suite.status === 'failed' && suite.assertionResults.length === 0).length;
  failed = (results.numFailedTests ?? 0) + failedSuites;
  if (results.success === false && failed === 0) failed = 1;
}
if (commandStatus !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
