import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpuToNanoCpus, memoryToBytes, parseQuantity } from './quantity.ts';

describe('parseQuantity', () => {
  it.each([
    ['0', 0],
    ['2', 2],
    [2, 2],
    [0.25, 0.25],
    ['+3', 3],
    ['-3', -3],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['5.', 5],
    ['500m', 0.5],
    ['100u', 0.0001],
    ['7n', 7e-9],
    ['1k', 1_000],
    ['1M', 1_000_000],
    ['2G', 2e9],
    ['1T', 1e12],
    ['1P', 1e15],
    ['1E', 1e18],
    ['1Ki', 1024],
    ['64Mi', 64 * 2 ** 20],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1Ti', 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1Ei', 2 ** 60],
    ['1e3', 1_000],
    ['1E3', 1_000],
    ['2.5e-3', 0.0025],
    ['1e+2', 100],
    [1e21, 1e21],
  ])('%j is %d', (q, expected) => {
    expect(parseQuantity(q)).toBeCloseTo(expected, 12);
  });

  it.each(['', ' 1', '1 ', 'lots', '1KB', '1kb', '1K', '1mi', '.', '1e', '1e1.5', '1Mi2', '--1', '1e999', 'NaN', NaN, Infinity])(
    'rejects %j, naming it',
    (q) => {
      expect(() => parseQuantity(q)).toThrow(`invalid resource quantity ${JSON.stringify(q)}`);
    },
  );
});

describe('cpuToNanoCpus', () => {
  it.each([
    ['500m', 500_000_000],
    [2, 2_000_000_000],
    ['0.1', 100_000_000],
    ['250m', 250_000_000],
    ['1n', 1],
    ['0.5n', 1],
    ['1e-3', 1_000_000],
  ])('%j is %d', (q, expected) => {
    expect(cpuToNanoCpus(q)).toBe(expected);
  });

  it('rejects negative cpu', () => {
    expect(() => cpuToNanoCpus('-1')).toThrow('must not be negative');
  });
});

describe('memoryToBytes', () => {
  it.each([
    ['64Mi', 67_108_864],
    ['512Mi', 536_870_912],
    [1_073_741_824, 1_073_741_824],
    ['1G', 1_000_000_000],
    ['0.3k', 300],
    ['1.1Gi', 1_181_116_007],
    ['1500m', 2],
    ['1e3', 1000],
  ])('%j is %d bytes', (q, expected) => {
    expect(memoryToBytes(q)).toBe(expected);
  });

  it('rejects values that are negative or not safe integers', () => {
    expect(() => memoryToBytes('-1Mi')).toThrow('must not be negative');
    expect(() => memoryToBytes('8Ei')).toThrow('too large');
  });
});

describe('properties', () => {
  it('n formatted with Mi parses back to n * 2^20', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 30 }), (n) => {
        expect(memoryToBytes(`${n}Mi`)).toBe(n * 2 ** 20);
        expect(parseQuantity(`${n}Mi`)).toBe(n * 2 ** 20);
      }),
    );
  });

  it('n millicores are n * 10^6 nanocpus', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10_000_000 }), (n) => {
        expect(cpuToNanoCpus(`${n}m`)).toBe(n * 1_000_000);
      }),
    );
  });

  it('a decimal suffix equals the same value in exponent form', () => {
    const suffixes = [
      ['k', 3],
      ['M', 6],
      ['G', 9],
      ['m', -3],
    ] as const;
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.constantFrom(...suffixes), (n, [suffix, exponent]) => {
        expect(parseQuantity(`${n}${suffix}`)).toBe(parseQuantity(`${n}e${exponent}`));
      }),
    );
  });

  it('memory is never rounded down', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), fc.integer({ min: 0, max: 6 }), (n, decimals) => {
        const q = `${n / 10 ** decimals}k`;
        const bytes = memoryToBytes(q);
        expect(Number.isInteger(bytes)).toBe(true);
        expect(bytes).toBeGreaterThanOrEqual(parseQuantity(q) * (1 - 1e-12));
        expect(bytes - parseQuantity(q)).toBeLessThan(1);
      }),
    );
  });
});
