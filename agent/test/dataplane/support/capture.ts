/**
 * Packet capture in a namespace for byte-for-byte comparisons: dumpcap (Debian "tshark" brings
 * it) writes a classic pcap file; `stop` returns each captured packet from its IP header on.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export function dumpcapMissing(): string | null {
  try {
    execFileSync('sh', ['-c', 'command -v dumpcap'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'missing tool: dumpcap (apt-get install tshark)';
  }
}

export interface Capture {
  /** Ends the capture; the packets seen, from the IP header on. */
  stop(): Promise<Buffer[]>;
}

export async function startCapture(ns: string, iface: string, filter: string): Promise<Capture> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pf-capture-'));
  const file = path.join(dir, 'c.pcap');
  const child = spawn('ip', ['netns', 'exec', ns, 'dumpcap', '-q', '-P', '-i', iface, '-f', filter, '-w', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dumpcap did not start: ${stderr}`)), 20_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/Capturing on/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`dumpcap exited ${code}: ${stderr}`)));
  });
  return {
    async stop() {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      const packets = parsePcap(readFileSync(file));
      rmSync(dir, { recursive: true, force: true });
      return packets;
    },
  };
}

/** Records of a little-endian classic pcap of Ethernet frames, without their 14-byte header. */
function parsePcap(data: Buffer): Buffer[] {
  if (data.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian pcap file');
  const linkType = data.readUInt32LE(20);
  if (linkType !== 1) throw new Error(`pcap link type ${linkType}, expected Ethernet`);
  const packets: Buffer[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    const captured = data.readUInt32LE(at + 8);
    packets.push(Buffer.from(data.subarray(at + 16 + 14, at + 16 + captured)));
    at += 16 + captured;
  }
  return packets;
}
