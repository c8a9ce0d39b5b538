import { promises as fs } from 'node:fs';
import * as path from 'node:path';

let tempCounter = 0;

/**
 * Replaces `file` so that a reader (or the next boot after a crash or power loss) sees either the
 * old content or the new one, never a mix: write a temp file in the same folder, fsync it, rename it
 * over the target, then fsync the folder so the rename itself is durable.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tempCounter}.tmp`);
  const handle = await fs.open(temp, 'w', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await fs.rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Removes temp files that a crashed writer left behind (they never replaced anything). Files of a
 * writer that is still alive (e.g. a running agent while `status` looks) are left alone.
 */
export async function removeStaleTempFiles(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const match = /^\..+\.(\d+)\.\d+\.tmp$/.exec(name);
    return match !== null && !isAlive(Number(match[1]));
  });
  await Promise.all(stale.map((name) => fs.rm(path.join(dir, name), { force: true })));
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
