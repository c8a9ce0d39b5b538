// Builds everything `npm start` and the test suites run: the Prisma client, the TypeScript
// packages (tsc -b, incremental) and the console (next build, skipped when nothing changed).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, bin, log } from './lib/repo.mjs';

const run = (args, cwd = REPO) => {
  try {
    execFileSync(process.execPath, args, { cwd, stdio: 'inherit' });
  } catch (error) {
    log('build', `failed: node ${args.join(' ')} (exit ${error.status})`);
    process.exit(error.status || 1);
  }
};

const controllerScripts = JSON.parse(
  (await import('node:fs')).readFileSync(join(REPO, 'controller/package.json'), 'utf8'),
).scripts;
if (controllerScripts['prisma:generate']) {
  log('build', 'prisma client');
  execFileSync('npm', ['run', '-s', 'prisma:generate', '-w', '@portfleet/controller'], { cwd: REPO, stdio: 'inherit' });
}

log('build', 'typescript (tsc -b)');
run([bin('typescript/bin/tsc'), '-b']);

const consoleDir = join(REPO, 'console');
if (existsSync(join(consoleDir, 'app'))) {
  const buildId = join(consoleDir, '.next/BUILD_ID');
  const sources = ['app', 'src', 'public', 'next.config.ts', 'next.config.mjs', 'tsconfig.json', 'package.json'].map((p) => join(consoleDir, p));
  sources.push(join(REPO, 'proto/src'));
  const built = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
  if (newest(sources) > built || process.env.PORTFLEET_FORCE_BUILD) {
    log('build', 'console (next build)');
    rmSync(join(consoleDir, '.next'), { recursive: true, force: true }); // an interrupted build leaves it broken
    run([bin('next/dist/bin/next'), 'build'], consoleDir);
  } else {
    log('build', 'console is up to date');
  }
}

function newest(paths) {
  let max = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    max = Math.max(max, st.mtimeMs);
    if (st.isDirectory()) max = Math.max(max, newest(readdirSync(p).map((e) => join(p, e))));
  }
  return max;
}
