/**
 * Array parameters in PostgreSQL's binary format (what `array_recv` reads): node-postgres sends a
 * Buffer parameter as binary, so `$1::bigint[]` gets 8-byte integers instead of text to parse.
 * Each stored report passes its rule ids and its counters this way (store-batch.ts); against text
 * literals this saved PostgreSQL ~1.2 µs per sample of parsing and the controller the
 * number-to-text work.
 */

const INT8_OID = 20;
const TEXT_OID = 25;
const HEADER_BYTES = 20;

/** One dimension, no NULLs, the element type, the length, lower bound 1. */
function header(view: DataView, length: number, elementOid: number): void {
  view.setInt32(0, 1);
  view.setInt32(4, 0);
  view.setUint32(8, elementOid);
  view.setInt32(12, length);
  view.setInt32(16, 1);
}

function allocate(bytes: number): { buffer: Buffer; view: DataView } {
  const buffer = Buffer.allocUnsafe(bytes);
  return { buffer, view: new DataView(buffer.buffer, buffer.byteOffset, buffer.length) };
}

const utf8 = new Map<string, Buffer>();
/** Distinct texts remembered as UTF-8; rule ids repeat across the fleet (the same rule set on every agent). */
const MAX_REMEMBERED = 100_000;

/** For `$n::text[]`: texts without NUL (PostgreSQL text cannot hold it; rule ids are checked on arrival). */
export function textArray(values: readonly string[]): Buffer {
  const encoded = new Array<Buffer>(values.length);
  let bytes = HEADER_BYTES;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let e = utf8.get(v);
    if (e === undefined) {
      if (utf8.size >= MAX_REMEMBERED) utf8.clear();
      utf8.set(v, (e = Buffer.from(v, 'utf8')));
    }
    encoded[i] = e;
    bytes += 4 + e.length;
  }
  const { buffer, view } = allocate(bytes);
  header(view, values.length, TEXT_OID);
  for (let i = 0, at = HEADER_BYTES; i < encoded.length; i++) {
    const e = encoded[i]!;
    view.setInt32(at, e.length);
    buffer.set(e, at + 4);
    at += 4 + e.length;
  }
  return buffer;
}

/** Rows of `activity_raw_reports.counters`, in this order (what the rollup and the view read by index). */
export const COUNTER_ROWS = ['packetsIn', 'bytesIn', 'packetsOut', 'bytesOut', 'conversationsNew', 'lastHitMs'] as const;

/**
 * For `$n::bigint[]` with two dimensions: a report's counters, one row per COUNTER_ROWS entry,
 * one column per rule sample (`counters[1:1]` is every rule's packetsIn, and so on). One
 * parameter per report instead of six: a batch of 20,000 samples stays far below PostgreSQL's
 * 65,535 parameters however few rules its reports have.
 */
export function countersMatrix(samples: readonly { [K in (typeof COUNTER_ROWS)[number]]: number }[]): Buffer {
  const n = samples.length;
  const rows = COUNTER_ROWS.length;
  const { buffer, view } = allocate(28 + rows * n * 12);
  view.setInt32(0, 2);
  view.setInt32(4, 0);
  view.setUint32(8, INT8_OID);
  view.setInt32(12, rows);
  view.setInt32(16, 1);
  view.setInt32(20, n);
  view.setInt32(24, 1);
  let at = 28;
  for (const row of COUNTER_ROWS) {
    for (let i = 0; i < n; i++, at += 12) {
      const v = samples[i]![row];
      view.setInt32(at, 8);
      view.setUint32(at + 4, Math.floor(v / 0x1_0000_0000));
      view.setUint32(at + 8, v >>> 0);
    }
  }
  return buffer;
}
