import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** The sha256 of a file's bytes, hex: how manifests and artifacts name the exact model file they were made from. */
export function fileSha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
