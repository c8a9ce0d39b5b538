// Fails when a .proto was edited without `npm run gen`: regenerates into a temp folder (never
// touching the work tree) and compares byte for byte with proto/src/gen.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const proto = join(__dirname, '..');
const committed = join(proto, 'src/gen');

function filesUnder(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(root, path), readFileSync(path));
  }
  return files;
}

describe('generated code', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'portfleet-gen-fresh-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('is what `npm run gen` makes from the current .proto files', () => {
    const before = filesUnder(committed);
    const out = join(scratch, 'gen');
    execFileSync(process.execPath, [join(proto, 'scripts/gen.mjs'), '--out', out], { cwd: proto, stdio: 'pipe' });

    const fresh = filesUnder(out);
    const protos = readdirSync(join(proto, 'portfleet/v1')).filter((f) => f.endsWith('.proto'));
    expect([...fresh.keys()].sort()).toEqual(protos.map((f) => join('portfleet/v1', f.replace(/\.proto$/, '.ts'))).sort());
    expect([...before.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [path, bytes] of fresh) {
      // toEqual on strings shows the first differing lines when it fails.
      expect([path, before.get(path)!.toString('utf8')]).toEqual([path, bytes.toString('utf8')]);
    }
    expect(filesUnder(committed)).toEqual(before); // the work tree was not touched
  }, 60_000);
});
