import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { varintSize, writeVarint } from './varint';

const VALUES = [0, 1, 127, 128, 300, 16_383, 16_384, 2 ** 21, 2 ** 28 - 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 7, Number.MAX_SAFE_INTEGER];

it.each(VALUES)('%d: the same bytes as the generated code writer, and its size', (value) => {
  const expected = new BinaryWriter().uint64(value).finish();
  const out = new Uint8Array(12);
  const end = writeVarint(out, 1, value);
  expect(Buffer.from(out.subarray(1, end))).toEqual(Buffer.from(expected));
  expect(varintSize(value)).toBe(expected.length);
});
