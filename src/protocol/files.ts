/** OpenAI's Files API: fine-tuning data (purpose "fine-tune", JSONL) and jobs' results (purpose "fine-tune-results", CSV). */
import { z } from "zod";

/** Query of GET /v1/files (cursor pagination, newest first by default). */
export const listFilesQuerySchema = z.strictObject({
  purpose: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  after: z.string().max(128).optional(),
  order: z.enum(["asc", "desc"]).default("desc"),
});

export type ListFilesQuery = z.infer<typeof listFilesQuerySchema>;

export interface FileObject {
  id: string;
  object: "file";
  bytes: number;
  created_at: number;
  filename: string;
  /** fine-tune: uploaded training data; fine-tune-results: a job's metrics CSV, written by the server. */
  purpose: FilePurpose;
  status: "processed";
  expires_at: null;
  status_details: null;
  /** Our extension, on fine-tune files: examples in the file (all valid: a file with a bad line is refused). */
  examples?: number;
}

export type FilePurpose = "fine-tune" | "fine-tune-results";

export interface FileList {
  object: "list";
  data: FileObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface FileDeleted {
  id: string;
  object: "file";
  deleted: true;
}
