import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { readVarint, varintSize, writeVarint } from './varint';

const VALUES = [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 21, 2 ** 28 - 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER];

it.each(VALUES)('%d: the same bytes as the generated code writer, and its size', (value) => {
  const expected = new BinaryWriter().uint64(value).finish();
  const out = new Uint8Array(12);
  const end = writeVarint(out, 1, value);
  expect(Buffer.from(out.subarray(1, end))).toEqual(Buffer.from(expected));
  expect(varintSize(value)).toBe(expected.length);
});

it.each(VALUES.filter((v) => v < 2 ** 49))('%d: read back at an offset, the cursor moved past it', (value) => {
  const out = new Uint8Array(12);
  const end = writeVarint(out, 2, value);
  const cursor = { pos: 2 };
  expect(readVarint(out, cursor)).toBe(value);
  expect(cursor.pos).toBe(end);
});

it('reads -1 for a truncated varint and one of more than 7 bytes, leaving the cursor', () => {
  const cursor = { pos: 0 };
  expect(readVarint(Uint8Array.of(0x80, 0x80), cursor)).toBe(-1);
  expect(readVarint(new BinaryWriter().uint64(2 ** 49).finish(), cursor)).toBe(-1);
  expect(cursor.pos).toBe(0);
});
