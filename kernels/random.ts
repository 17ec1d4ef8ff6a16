/** Seeded random source (xoshiro128**), so forge, tests and sampling are reproducible. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  normal(): number;
  int(n: number): number;
}

export function createRandom(seed: number): Random {
  let s0 = 0x9e3779b9 ^ seed;
  let s1 = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b);
  let s2 = 0xb7e15162 ^ Math.imul(seed, 0xc2b2ae35);
  let s3 = 0x6a09e667 ^ (seed >>> 1);
  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  for (let i = 0; i < 16; i++) nextU32();
  const next = (): number => (nextU32() * 2 ** 21 + (nextU32() >>> 11)) / 2 ** 53;
  let spare: number | undefined;
  return {
    next,
    normal() {
      if (spare !== undefined) {
        const value = spare;
        spare = undefined;
        return value;
      }
      const u = 1 - next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(n: number) {
      return Math.floor(next() * n);
    },
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
