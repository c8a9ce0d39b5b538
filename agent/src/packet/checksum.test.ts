import { applyDelta, fold, sumWords, word32Delta, wordDelta } from './checksum';
import { fromHex } from './build';

describe('internet checksum', () => {
  it('sums big-endian words with end-around carry (RFC 1071 §3 example)', () => {
    // 0001 f203 f4f5 f6f7 → ddf2 (RFC 1071 worked example)
    expect(sumWords(fromHex('0001f203f4f5f6f7'), 0, 8)).toBe(0xddf2);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(sumWords(fromHex('0102 03'), 0, 3)).toBe(0x0102 + 0x0300);
  });

  it('verifies the header checksum of a captured IPv4 header to 0xffff', () => {
    const header = fromHex('45000073000040004011b861c0a80001c0a800c7');
    expect(sumWords(header, 0, 20)).toBe(0xffff);
  });

  it('updates incrementally as RFC 1624 §5 shows (HC 0xdd2f, m 0x5555 → 0x3285 gives 0x0000)', () => {
    expect(applyDelta(0xdd2f, wordDelta(0x5555, 0x3285))).toBe(0x0000);
  });

  it('matches a full recomputation when a 32-bit address changes', () => {
    const header = fromHex('45000073000040004011b861c0a80001c0a800c7');
    const old = 0xc0a80001;
    const next = 0x0a000005;
    const updated = applyDelta(0xb861, word32Delta(old, next));
    header.set(fromHex('0a000005'), 12);
    header[10] = 0;
    header[11] = 0;
    expect(updated).toBe(~sumWords(header, 0, 20) & 0xffff);
  });

  it('folds carries twice', () => {
    expect(fold(0x1ffff)).toBe(0x0001);
    expect(fold(0xffffffff)).toBe(0xffff);
  });
});
