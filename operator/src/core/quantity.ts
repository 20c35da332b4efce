/**
 * Kubernetes resource quantities ("500m", "2", "1.5Gi", "1e3"), following the grammar of
 * k8s.io/apimachinery/pkg/api/resource. Values are kept as exact rationals until the last
 * step, so "0.3k" is 300 bytes and not 301 after a float rounding error and a ceiling.
 */

// sign, mantissa, then either an exponent (e3, E-2) or a suffix. The exponent is tried
// first, so "1E" is one exa and "1E3" is a thousand, as in Kubernetes.
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

const DECIMAL_EXPONENT: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXPONENT: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

// Beyond this a quantity means nothing for CPU or memory, and a huge exponent would
// make the BigInt arithmetic below allocate without bound.
const MAX_EXPONENT = 100;

/** numerator / denominator, denominator > 0. */
interface Rational {
  num: bigint;
  den: bigint;
}

function parseExact(q: string | number): Rational {
  const text = typeof q === 'number' ? String(q) : q;
  const m = QUANTITY.exec(text);
  if (!m) {
    throw new Error(
      `invalid resource quantity ${JSON.stringify(q)}: expected a number with an optional suffix such as 500m, 2, 1.5Gi or 1e3`,
    );
  }
  const [, sign = '', mantissa = '', exponent, suffix = ''] = m;
  const [whole = '', fraction = ''] = mantissa.split('.');
  let num = BigInt(`${whole}${fraction}` || '0');
  let den = 1n;
  const binary = BINARY_EXPONENT[suffix];
  if (binary !== undefined) num <<= BigInt(binary);
  if (exponent !== undefined && Math.abs(Number(exponent)) > MAX_EXPONENT) {
    throw new Error(`invalid resource quantity ${JSON.stringify(q)}: exponent out of range`);
  }
  const power10 = (exponent !== undefined ? Number(exponent) : (DECIMAL_EXPONENT[suffix] ?? 0)) - fraction.length;
  if (power10 >= 0) num *= 10n ** BigInt(power10);
  else den = 10n ** BigInt(-power10);
  return { num: sign === '-' ? -num : num, den };
}

/** The quantity as a plain number (1.5Gi -> 1610612736, 500m -> 0.5). Throws on anything else. */
export function parseQuantity(q: string | number): number {
  const { num, den } = parseExact(q);
  const value = Number(num) / Number(den);
  if (!Number.isFinite(value)) throw new Error(`invalid resource quantity ${JSON.stringify(q)}: out of range`);
  return value;
}

// ceil(num * scale / den) for a non-negative quantity, as a safe integer: Kubernetes
// rounds quantities up when it scales them, and Docker wants integers.
function scaledUp(q: string | number, scale: bigint, what: string): number {
  const { num, den } = parseExact(q);
  if (num < 0n) throw new Error(`invalid ${what} quantity ${JSON.stringify(q)}: must not be negative`);
  const scaled = (num * scale + den - 1n) / den;
  if (scaled > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`invalid ${what} quantity ${JSON.stringify(q)}: too large`);
  return Number(scaled);
}

/** CPU in cores as Docker's NanoCpus: "500m" -> 500_000_000, 2 -> 2_000_000_000. */
export function cpuToNanoCpus(q: string | number): number {
  return scaledUp(q, 1_000_000_000n, 'cpu');
}

/** Memory as whole bytes, rounded up: "64Mi" -> 67108864, "1.5k" -> 1500. */
export function memoryToBytes(q: string | number): number {
  return scaledUp(q, 1n, 'memory');
}
