/** Fine-tuning files on the shared store (uploads and jobs' results): metadata and bytes, so every replica and worker reads them. */
import { randomBytes } from "node:crypto";
import type { FileObject, FilePurpose } from "../protocol/files.ts";
import type { Store } from "../store/store.ts";

const metaPrefix = "files:meta:";
const blobPrefix = "files:blob:";

export class FileStore {
  constructor(private readonly store: Store) {}

  /** Bytes first, then the record: a listed file always has its content. */
  async create(filename: string, bytes: Uint8Array, about: { purpose: FilePurpose; examples?: number }): Promise<FileObject> {
    const file: FileObject = {
      id: `file-${randomBytes(12).toString("hex")}`,
      object: "file",
      bytes: bytes.byteLength,
      created_at: Math.floor(Date.now() / 1000),
      filename,
      purpose: about.purpose,
      status: "processed",
      expires_at: null,
      status_details: null,
      ...(about.examples === undefined ? {} : { examples: about.examples }),
    };
    await this.store.setBytes(blobPrefix + file.id, bytes);
    try {
      await this.store.set(metaPrefix + file.id, JSON.stringify(file));
    } catch (error) {
      await this.store.delete(blobPrefix + file.id).catch(() => undefined);
      throw error;
    }
    return file;
  }

  async get(id: string): Promise<FileObject | undefined> {
    const text = await this.store.get(metaPrefix + id);
    return text === null ? undefined : (JSON.parse(text) as FileObject);
  }

  /** Oldest first. */
  async list(): Promise<FileObject[]> {
    const keys = await this.store.keys(metaPrefix);
    const files = await Promise.all(keys.map((key) => this.get(key.slice(metaPrefix.length))));
    return files.filter((file): file is FileObject => file !== undefined).sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));
  }

  async content(id: string): Promise<Uint8Array | undefined> {
    return (await this.store.getBytes(blobPrefix + id)) ?? undefined;
  }

  /** True when it existed. */
  async delete(id: string): Promise<boolean> {
    const existed = await this.store.delete(metaPrefix + id);
    await this.store.delete(blobPrefix + id);
    return existed;
  }
}
