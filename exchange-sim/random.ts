// Seeded randomness. Market values are pure functions of (seed, symbol, index) so they do not depend on the
// order in which they are computed; fault decisions use a sequential stream seeded the same way.

/** 32-bit FNV-1a of a string: turns seeds and symbol names into integers. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function seedNumber(seed: string | number): number {
  return hashString(String(seed));
}

function mix(hash: number): number {
  let h = hash;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform value in (0, 1) determined by the given integers. */
export function uniformAt(...keys: number[]): number {
  let hash = 0x9e3779b9;
  for (const key of keys) hash = mix((hash ^ (key | 0)) + 0x7f4a7c15);
  return (mix(hash) + 0.5) / 4294967296;
}

/** Standard normal value determined by the given integers (Box-Muller over two derived uniforms). */
export function normalAt(...keys: number[]): number {
  const u1 = uniformAt(...keys, 1);
  const u2 = uniformAt(...keys, 2);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** Sequential generator (mulberry32) for decisions taken in request order. */
export function randomStream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
