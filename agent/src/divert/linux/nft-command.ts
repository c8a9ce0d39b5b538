/** Runs an nftables script with a spawned `nft -f -` (apply time, not the packet path). */
import { spawn } from 'node:child_process';

/** `user` names what needs the script (the fast path, the kernel rules) in errors. */
export function runNft(script: string, user: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', ['-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error(`nft not found: ${user} needs nftables (Debian/Ubuntu package "nftables")`) : error),
    );
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft -f - (${user}) failed (${code}): ${err.trim()}\n${script}`))));
    // nft may exit before reading all of it (a syntax error): its exit code tells, not EPIPE.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(script);
  });
}
