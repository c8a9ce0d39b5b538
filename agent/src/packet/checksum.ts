/**
 * Internet checksum (RFC 1071) and its incremental update (RFC 1624). Sums are kept as plain
 * numbers below 2^32 and folded to 16 bits at the end.
 */

/** Folds a 32-bit one's-complement accumulator to 16 bits. */
export function fold(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** One's-complement sum of big-endian 16-bit words of `data[start..end)`, plus `initial` (folded). */
export function sumWords(data: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (data[i]! << 8) | data[i + 1]!;
  if (i < end) sum += data[i]! << 8;
  return fold(sum);
}

/**
 * The amount (one's complement, 16 bits) that replacing word `oldWord` by `newWord` adds to a
 * sum: ~m + m' of RFC 1624 eqn 3. Deltas of several words add with `fold(a + b)`.
 */
export function wordDelta(oldWord: number, newWord: number): number {
  return fold((~oldWord & 0xffff) + (newWord & 0xffff));
}

/** Delta for replacing a 32-bit value (two words). */
export function word32Delta(oldValue: number, newValue: number): number {
  return fold(
    (~(oldValue >>> 16) & 0xffff) + (newValue >>> 16) + (~oldValue & 0xffff) + (newValue & 0xffff),
  );
}

/** RFC 1624 eqn 3: HC' = ~(~HC + delta). */
export function applyDelta(checksum: number, delta: number): number {
  return ~fold((~checksum & 0xffff) + delta) & 0xffff;
}
