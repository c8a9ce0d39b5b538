// Regenerates src/gen from portfleet/v1/*.proto with buf (bundled in npm) and ts-proto.
// The buf wrapper loses its run bit when npm blocks install scripts, so call it through node.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const buf = join(dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');

rmSync(join(here, 'src/gen'), { recursive: true, force: true });
execFileSync(process.execPath, [buf, 'generate'], { cwd: here, stdio: 'inherit' });
