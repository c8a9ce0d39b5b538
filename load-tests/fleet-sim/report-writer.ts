import { varintSize, writeVarint } from '@portfleet/proto';
/**
 * Writes an `AgentMessage { activity: ActivityReport }` as a gRPC message of protobuf bytes, the same bytes the
 * generated encoder makes (proto3: zero fields left out, fields in number order), without a
 * message object per sample or the generated writer's per-field forks and BigInt-free-but-slow
 * int64 path. The simulator reports 200,000 samples/s from the process that measures the
 * controller: what this costs is taken from the controller's share of the cores.
 * One writer is reused for every report (the simulator is single-threaded).
 */
export class ReportWriter {
  static readonly shared = new ReportWriter();

  private buf: Buffer = Buffer.allocUnsafe(16 * 1024);
  private pos = 0;
  private seq = 0;
  private startMs = 0;
  private endMs = 0;

  begin(seq: number, periodStartMs: number, periodEndMs: number): void {
    this.pos = 0;
    this.seq = seq;
    this.startMs = periodStartMs;
    this.endMs = periodEndMs;
  }

  /** One RuleActivity (fields 1–8), as a `rules` entry (field 4) of the report; `id` is the rule id's UTF-8 bytes. */
  rule(id: Uint8Array, packetsIn: number, bytesIn: number, packetsOut: number, bytesOut: number, conversationsActive: number, conversationsNew: number, lastHitMs: number): void {
    const length =
      (id.length > 0 ? 1 + varintSize(id.length) + id.length : 0) +
      field(packetsIn) + field(bytesIn) + field(packetsOut) + field(bytesOut) + field(conversationsActive) + field(conversationsNew) + field(lastHitMs);
    this.room(1 + varintSize(length) + length);
    this.byte(34);
    this.varint(length);
    if (id.length > 0) {
      this.byte(10);
      this.varint(id.length);
      this.buf.set(id, this.pos);
      this.pos += id.length;
    }
    this.tagged(16, packetsIn);
    this.tagged(24, bytesIn);
    this.tagged(32, packetsOut);
    this.tagged(40, bytesOut);
    this.tagged(48, conversationsActive);
    this.tagged(56, conversationsNew);
    this.tagged(64, lastHitMs);
  }

  /**
   * The whole AgentMessage as a gRPC message (the 5-byte prefix, then the protobuf bytes), kept
   * until acked and resent as is. Cut from a shared slab: a 50-rule report is ~4.5 kB, above what
   * Buffer.allocUnsafe takes from its pool, so a Buffer of its own per report (4,000 a second) was
   * an ArrayBuffer each, the simulator's largest cost after grpc-js went.
   */
  finish(): Buffer {
    const rules = this.pos;
    const report = field(this.seq) + field(this.startMs) + field(this.endMs) + rules;
    const message = 1 + varintSize(report) + report;
    const out = slice(GRPC_PREFIX_BYTES + message);
    out[0] = 0; // not compressed
    out.writeUInt32BE(message, 1);
    const body = this.buf;
    this.buf = out;
    this.pos = GRPC_PREFIX_BYTES;
    this.byte(26);
    this.varint(report);
    this.tagged(8, this.seq);
    this.tagged(16, this.startMs);
    this.tagged(24, this.endMs);
    body.copy(out, this.pos, 0, rules);
    this.buf = body;
    this.pos = 0;
    return out;
  }

  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  private byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  private tagged(tag: number, value: number): void {
    if (value === 0) return;
    this.buf[this.pos++] = tag;
    this.varint(value);
  }

  /** A non-negative safe integer as a varint. */
  private varint(value: number): void {
    this.pos = writeVarint(this.buf, this.pos, value);
  }
}

/** gRPC's message prefix: a compressed flag and a 4-byte big-endian length. */
export const GRPC_PREFIX_BYTES = 5;
const SLAB_BYTES = 1024 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
let slabUsed = 0;

/** `bytes` of a shared slab (a new slab when this one is full; a slab is freed with its last report). */
function slice(bytes: number): Buffer {
  if (bytes > SLAB_BYTES / 8) return Buffer.allocUnsafeSlow(bytes);
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + bytes);
  slabUsed += (bytes + 7) & ~7;
  return out;
}

/** Bytes of a tagged varint field (one-byte tag), 0 when the value is the default. */
function field(value: number): number {
  return value === 0 ? 0 : 1 + varintSize(value);
}
