import { createHash, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * This replica's adapter files, the ones node-llama-cpp loads. node-llama-cpp caches a loaded
 * adapter by file path, so every version gets its own path (name, version and sha256 in the
 * file name) and is never rewritten: a new version can never be served from an old one's cache.
 */
export class AdapterCache {
  private constructor(readonly directory: string) {}

  /** `directory` unset: a fresh directory under the OS temp dir, so replicas on one host never share files. */
  static async open(directory: string | undefined): Promise<AdapterCache> {
    if (directory === undefined) return new AdapterCache(await mkdtemp(join(tmpdir(), "gateway-adapters-")));
    await mkdir(directory, { recursive: true });
    return new AdapterCache(directory);
  }

  /** Writes the bytes once their sha256 is the expected one; returns the file's path. */
  async materialize(name: string, version: number, sha256: string, bytes: Uint8Array): Promise<string> {
    const actual = sha256Hex(bytes);
    if (actual !== sha256) throw new Error(`adapter ${name} v${version}: bytes hash to ${actual}, the registry says ${sha256}`);
    const path = join(this.directory, `${name}.v${version}.${sha256}.gguf`);
    // Written aside and renamed, so the path never holds a partial file.
    const partial = `${path}.${randomUUID()}.partial`;
    await writeFile(partial, bytes);
    await rename(partial, path);
    return path;
  }

  async remove(path: string): Promise<void> {
    await rm(path, { force: true });
  }
}
