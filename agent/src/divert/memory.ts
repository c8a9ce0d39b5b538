import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import type { PacketBatch } from '../engine/batch';
import { listAdapters } from './adapters';
import type { AdapterInfo, DataPlane, DataPlaneCapabilities } from './dataplane';
import { encodePacketFrame, encodeVerdictFrame, MAX_TAP_PACKET, TapFrameReader, TapFrameType } from './tap-protocol';

/** Where the tap listens: a Unix socket path, or a loopback TCP port (0 = any free port). */
export type TapAddress = { path: string } | { port: number };

export function parseTapAddress(value: string): TapAddress {
  return /^\d+$/.test(value) ? { port: Number(value) } : { path: value };
}

export interface MemoryDataPlaneOptions {
  tap?: TapAddress;
  /** Overrides what the plane claims it can do (tests of UNSUPPORTED_BY_DATAPLANE). */
  capabilities?: Partial<Omit<DataPlaneCapabilities, 'kind'>>;
  adapters?: () => Promise<AdapterInfo[]>;
}

/** One tap connection: its queued packets and where its results go. */
interface TapPeer {
  readonly socket: net.Socket;
  readonly queue: { flags: number; ifIndex: number; bytes: Uint8Array }[];
}

/**
 * A data plane without a kernel: packets come only from tap connections, and what the engine
 * makes of them goes back to the connection that sent them. Since packets are just bytes here, it
 * can do everything the engine can (layer 2, reflection, adapters, clones).
 */
export class MemoryDataPlane implements DataPlane {
  readonly capabilities: DataPlaneCapabilities;
  private server: net.Server | undefined;
  private readonly peers = new Set<TapPeer>();
  /** Peers with queued packets, served round-robin one batch at a time. */
  private readonly ready: TapPeer[] = [];
  /** The peer whose packets fill the current batch. */
  private current: TapPeer | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly options: MemoryDataPlaneOptions = {}) {
    this.capabilities = { kind: 'memory', layer2: true, reflection: true, adapters: true, clone: true, ...options.capabilities };
  }

  adapters(): Promise<AdapterInfo[]> {
    return (this.options.adapters ?? listAdapters)();
  }

  /** Where the tap actually listens (the chosen port when asked for port 0). */
  tapAddress(): string | undefined {
    const address = this.server?.address();
    if (!address) return undefined;
    return typeof address === 'string' ? address : `${address.address}:${address.port}`;
  }

  async open(): Promise<void> {
    const tap = this.options.tap;
    if (!tap) return;
    const server = net.createServer((socket) => this.accept(socket));
    if ('path' in tap) await removeStaleSocket(tap.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if ('path' in tap) server.listen(tap.path, resolve);
      else server.listen(tap.port, '127.0.0.1', resolve);
    });
    if ('path' in tap) await fs.chmod(tap.path, 0o600);
    this.server = server;
  }

  async receive(batch: PacketBatch): Promise<boolean> {
    while (!this.closed) {
      const peer = this.ready.shift();
      if (!peer) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      if (peer.socket.destroyed) continue;
      let taken = 0;
      while (taken < peer.queue.length) {
        const packet = peer.queue[taken]!;
        if (batch.push(packet.bytes, packet.flags, packet.ifIndex) < 0) break;
        taken++;
      }
      peer.queue.splice(0, taken);
      if (peer.queue.length > 0) this.ready.push(peer);
      this.current = peer;
      return true;
    }
    return false;
  }

  inject(emitted: PacketBatch): void {
    const socket = this.current?.socket;
    if (!socket || socket.destroyed) return;
    for (let i = 0; i < emitted.count; i++) {
      socket.write(encodePacketFrame(TapFrameType.Emitted, emitted.flags[i]!, emitted.ifIndex[i]!, emitted.data, emitted.offset[i]!, emitted.length[i]!));
    }
  }

  verdict(batch: PacketBatch): void {
    const socket = this.current?.socket;
    if (!socket || socket.destroyed) return;
    for (let i = 0; i < batch.count; i++) {
      socket.write(encodeVerdictFrame(batch.verdict[i]!, batch.flags[i]!, batch.ifIndex[i]!, batch.rule[i]!, batch.data, batch.offset[i]!, batch.length[i]!));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    for (const peer of this.peers) peer.socket.destroy();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const tap = this.options.tap;
    if (tap && 'path' in tap) await fs.rm(tap.path, { force: true }); // ours: it was listening
  }

  private accept(socket: net.Socket): void {
    const peer: TapPeer = { socket, queue: [] };
    const reader = new TapFrameReader();
    this.peers.add(peer);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) {
          if (frame.type !== TapFrameType.Packet || frame.bytes.length > MAX_TAP_PACKET) {
            throw new Error('only PACKET frames of at most 65535 bytes may be sent to the agent');
          }
          // The reader's buffer is reused for the next chunk: keep a copy until the batch takes it.
          peer.queue.push({ flags: frame.flags, ifIndex: frame.ifIndex, bytes: Uint8Array.from(frame.bytes) });
        }
      } catch (error) {
        socket.destroy(error as Error);
        return;
      }
      if (peer.queue.length > 0 && !this.ready.includes(peer)) {
        this.ready.push(peer);
        this.wake?.();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.peers.delete(peer);
      peer.queue.length = 0;
    });
  }
}

/** A socket file left by a crashed agent would make listen fail with EADDRINUSE. */
async function removeStaleSocket(path: string): Promise<void> {
  const stat = await fs.lstat(path).catch(() => null);
  if (stat?.isSocket()) await fs.rm(path);
  else if (stat) throw new Error(`tap path ${path} exists and is not a socket`);
}
