// `npm test`: builds, then runs every suite layer in turn and prints one closing line
// "N passed, N failed, N skipped". Under CI=true a skipped test is a failure: nothing may skip.
//   node scripts/test.mjs [unit|integration|e2e ...]   (default: all layers)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, bin, log } from './lib/repo.mjs';

const ALL = ['unit', 'integration', 'e2e'];
const layers = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
const ci = process.env.CI === 'true' || process.env.CI === '1';

const build = spawnSync(process.execPath, [join(REPO, 'scripts/build.mjs')], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
// Jest strips types without checking them: the test files are type-checked here, once.
log('test', 'type-checking the test files');
for (const project of ['tsconfig.tests.json', 'console/e2e/tsconfig.json', 'load-tests/k6/tsconfig.json']) {
  const checked = spawnSync(process.execPath, [bin('typescript/bin/tsc'), '-p', project], { cwd: REPO, stdio: 'inherit' });
  if (checked.status !== 0) process.exit(checked.status ?? 1);
}

const totals = { passed: 0, failed: 0, skipped: 0 };
let ok = true;
const out = mkdtempSync(join(tmpdir(), 'portfleet-test-'));
for (const layer of layers) {
  if (!ALL.includes(layer)) {
    log('test', `unknown layer "${layer}" (use ${ALL.join(', ')})`);
    process.exit(2);
  }
  log('test', `${layer} suites`);
  const report = join(out, `${layer}.json`);
  const args = [bin('jest/bin/jest.js'), '--json', '--outputFile', report];
  if (layer !== 'unit') args.push('--runInBand');
  if (ci) args.push('--ci');
  const result = spawnSync(process.execPath, args, {
    cwd: REPO,
    stdio: 'inherit',
    env: { ...process.env, PORTFLEET_TEST_LAYER: layer },
  });
  let summary;
  try {
    summary = JSON.parse(readFileSync(report, 'utf8'));
  } catch {
    log('test', `${layer}: jest produced no report`);
    ok = false;
    continue;
  }
  totals.passed += summary.numPassedTests;
  totals.failed += summary.numFailedTests + summary.numRuntimeErrorTestSuites;
  totals.skipped += summary.numPendingTests + summary.numTodoTests;
  if (result.status !== 0 || !summary.success) ok = false;
  if (summary.numTotalTests === 0) {
    log('test', `${layer}: no tests ran`);
    ok = false;
  }
}
rmSync(out, { recursive: true, force: true });

if (ci && totals.skipped > 0) {
  log('test', `CI=true: ${totals.skipped} test(s) skipped; under CI nothing may skip`);
  ok = false;
}
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(ok ? 0 : 1);
