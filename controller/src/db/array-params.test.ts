import { intArray, uuidArray } from './array-params';

describe('array parameters', () => {
  it('writes uuids and integers as PostgreSQL array text', () => {
    expect(uuidArray([])).toBe('{}');
    expect(uuidArray(['6b0d5a1e-8a51-4f5e-9f0b-3c1d2e4f5a6b', 'A0000000-0000-4000-8000-00000000000F'])).toBe('{6b0d5a1e-8a51-4f5e-9f0b-3c1d2e4f5a6b,A0000000-0000-4000-8000-00000000000F}');
    expect(intArray([0, -3, 2 ** 31 - 1])).toBe('{0,-3,2147483647}');
  });

  it('refuses what would change the array: a comma, a brace, a quote, a non-integer', () => {
    expect(() => uuidArray(['6b0d5a1e-8a51-4f5e-9f0b-3c1d2e4f5a6b,6b0d5a1e-8a51-4f5e-9f0b-3c1d2e4f5a6c'])).toThrow(/not a uuid/);
    expect(() => uuidArray(['}'])).toThrow(/not a uuid/);
    expect(() => uuidArray(['"x"'])).toThrow(/not a uuid/);
    expect(() => intArray([1.5])).toThrow(/not an integer/);
    expect(() => intArray([Number.NaN])).toThrow(/not an integer/);
  });
});
