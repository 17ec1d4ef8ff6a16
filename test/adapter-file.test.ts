/**
 * lora_path safety: only regular files inside ADAPTERS_DIR, within the size limit, are read;
 * traversal, absolute paths elsewhere, symlinks leading out, directories and FIFOs are refused
 * with a 400 naming lora_path, and nothing outside the directory is revealed (not even whether
 * a file exists there).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readAdapterFile } from "../src/adapters/adapter-file.ts";
import { ApiError } from "../src/protocol/errors.ts";

const scratch = mkdtempSync(join(tmpdir(), "adapter-file-"));
const dir = join(scratch, "adapters");
const outside = join(scratch, "secret.gguf");
mkdirSync(join(dir, "nested"), { recursive: true });
writeFileSync(join(dir, "ok.gguf"), "inside");
writeFileSync(join(dir, "nested", "deep.gguf"), "deep");
writeFileSync(outside, "secret");
symlinkSync(outside, join(dir, "escape.gguf"));
symlinkSync(join(dir, "ok.gguf"), join(dir, "alias.gguf"));
symlinkSync(scratch, join(dir, "up"));
execFileSync("mkfifo", [join(dir, "fifo.gguf")]);
after(() => rmSync(scratch, { recursive: true, force: true }));

async function refused(loraPath: string, code: string, message: RegExp, maxBytes = 1024): Promise<void> {
  await assert.rejects(readAdapterFile(dir, loraPath, maxBytes), (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.param, "lora_path");
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

describe("reading lora_path", () => {
  it("reads regular files inside the directory, by relative or absolute path, and symlinks that stay inside", async () => {
    assert.equal(Buffer.from((await readAdapterFile(dir, "ok.gguf", 1024)).bytes).toString(), "inside");
    assert.equal(Buffer.from((await readAdapterFile(dir, "nested/../nested/deep.gguf", 1024)).bytes).toString(), "deep");
    assert.equal(Buffer.from((await readAdapterFile(dir, join(dir, "ok.gguf"), 1024)).bytes).toString(), "inside");
    const alias = await readAdapterFile(dir, "alias.gguf", 1024);
    assert.equal(alias.path, join(dir, "ok.gguf"), "the resolved path is the real one");
  });

  it("refuses traversal and absolute paths outside, without saying whether the file exists", async () => {
    await refused("../secret.gguf", "invalid_lora_path", /inside the server's adapters directory/);
    await refused("../no-such-file.gguf", "invalid_lora_path", /inside the server's adapters directory/);
    await refused(outside, "invalid_lora_path", /inside the server's adapters directory/);
    await refused("/etc/passwd", "invalid_lora_path", /inside the server's adapters directory/);
    await refused(".", "invalid_lora_path", /inside the server's adapters directory/);
  });

  it("refuses symlinks that lead outside, file or directory", async () => {
    await refused("escape.gguf", "invalid_lora_path", /inside the server's adapters directory/);
    await refused("up/secret.gguf", "invalid_lora_path", /inside the server's adapters directory/);
  });

  it("refuses what is not a regular file, and missing files", async () => {
    await refused("nested", "invalid_lora_path", /regular file/);
    await refused("fifo.gguf", "invalid_lora_path", /regular file/);
    await refused("missing.gguf", "invalid_lora_path", /No adapter file/);
  });

  it("refuses files above the size limit before reading them", async () => {
    await refused("ok.gguf", "adapter_too_large", /6 bytes; this server accepts at most 5/, 5);
    assert.equal((await readAdapterFile(dir, "ok.gguf", 6)).bytes.byteLength, 6);
  });

  it("refuses when the directory itself is missing", async () => {
    await assert.rejects(readAdapterFile(join(scratch, "none"), "ok.gguf", 1024), /does not exist/);
  });
});
