/**
 * Shared state for everything that must agree across replicas (adapters, files, jobs, caches).
 * One contract, tested against every implementation by test/store-contract.test.ts.
 */
export interface Store {
  get(key: string): Promise<string | null>;
  /** ttlMs: the key disappears after that many milliseconds. */
  set(key: string, value: string, options?: { ttlMs?: number }): Promise<void>;
  /** Raw bytes (adapter files, document-token caches): null when the key is absent. */
  getBytes(key: string): Promise<Uint8Array | null>;
  /** Raw bytes of many keys in one round trip, in order: null for each absent key. */
  getManyBytes(keys: readonly string[]): Promise<(Uint8Array | null)[]>;
  /** ttlMs: the key disappears after that many milliseconds. */
  setBytes(key: string, value: Uint8Array, options?: { ttlMs?: number }): Promise<void>;
  /** Sets only when the key is absent; true when it did. */
  setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean>;
  /** True when the key existed. */
  delete(key: string): Promise<boolean>;
  /** Adds `by` (default 1) to an integer counter, starting from 0; returns the new value. */
  increment(key: string, by?: number): Promise<number>;
  /** Every key starting with `prefix`, sorted. */
  keys(prefix: string): Promise<string[]>;
  close(): Promise<void>;
}
