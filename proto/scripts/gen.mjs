// Regenerates src/gen from portfleet/v1/*.proto with buf (bundled in npm) and ts-proto.
// The buf wrapper loses its run bit when npm blocks install scripts, so call it through node.
//
//   node scripts/gen.mjs              regenerate proto/src/gen in place
//   node scripts/gen.mjs --out <dir>  write the same files to <dir> instead (src/gen untouched);
//                                     test/gen-fresh.test.ts uses it to catch stale generated code
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const buf = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
const { values } = parseArgs({ options: { out: { type: 'string' } } });

if (values.out === undefined) {
  rmSync(join(here, 'src/gen'), { recursive: true, force: true });
  execFileSync(process.execPath, [buf, 'generate'], { cwd: here, stdio: 'inherit' });
} else {
  // buf prepends --output to the template's `out: src/gen`, so generate under a scratch base and
  // move the result: the template stays the single description of how code is generated.
  const target = resolve(values.out);
  const base = mkdtempSync(join(tmpdir(), 'portfleet-gen-'));
  try {
    execFileSync(process.execPath, [buf, 'generate', '--output', base], { cwd: here, stdio: 'inherit' });
    rmSync(target, { recursive: true, force: true });
    cpSync(join(base, 'src/gen'), target, { recursive: true });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
