import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { invalidRequest } from "../protocol/errors.ts";

/**
 * Reads the file a client named as `lora_path`, refusing anything outside `adaptersDir`.
 * A relative path is taken from `adaptersDir`. The path and the directory are both resolved
 * with realpath, so `..` and symlinks that lead outside are refused; the resolved file is then
 * opened without following links and checked through its descriptor (a regular file, within
 * `maxBytes`), so a file swapped in between is still the one checked and read.
 */
export async function readAdapterFile(adaptersDir: string, loraPath: string, maxBytes: number): Promise<{ path: string; bytes: Uint8Array }> {
  const root = await realpath(adaptersDir).catch(() => {
    throw invalidRequest(`The adapters directory ${adaptersDir} does not exist on this server (ADAPTERS_DIR).`, "lora_path", "invalid_lora_path");
  });
  const outside = (): never => {
    throw invalidRequest("lora_path must name a file inside the server's adapters directory (ADAPTERS_DIR).", "lora_path", "invalid_lora_path");
  };
  // Checked before touching the file system too, so nothing is revealed about files outside.
  const named = resolve(root, loraPath);
  if (!isInside(root, named)) outside();
  const real = await realpath(named).catch(() => {
    throw invalidRequest(`No adapter file at lora_path ${JSON.stringify(loraPath)}.`, "lora_path", "invalid_lora_path");
  });
  if (!isInside(root, real)) outside();
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch((error: Error) => {
    throw invalidRequest(`Cannot open lora_path: ${error.message}`, "lora_path", "invalid_lora_path");
  });
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw invalidRequest("lora_path must name a regular file.", "lora_path", "invalid_lora_path");
    if (stat.size > maxBytes) throw invalidRequest(`The adapter file has ${stat.size} bytes; this server accepts at most ${maxBytes} (ADAPTER_MAX_BYTES).`, "lora_path", "adapter_too_large");
    const bytes = new Uint8Array(stat.size);
    const { bytesRead } = await handle.read(bytes, 0, stat.size, 0);
    if (bytesRead !== stat.size) throw invalidRequest("The adapter file changed while it was read.", "lora_path", "invalid_lora_path");
    return { path: real, bytes };
  } finally {
    await handle.close();
  }
}

function isInside(root: string, path: string): boolean {
  const rest = relative(root, path);
  return rest !== "" && !isAbsolute(rest) && rest !== ".." && !rest.startsWith(`..${sep}`);
}
