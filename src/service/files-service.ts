/** /v1/files: fine-tuning data, checked whole at upload so a stored file is always trainable JSONL. */
import { formatLineErrors, parseDataset } from "../../kernels/finetune/dataset.ts";
import type { FineTuning } from "../finetune/fine-tuning.ts";
import { ApiError, invalidRequest } from "../protocol/errors.ts";
import type { FileDeleted, FileList, FileObject, ListFilesQuery } from "../protocol/files.ts";
import type { Gateway } from "./gateway.ts";
import { startAfter } from "./list-cursor.ts";

export const fileNotFound = (id: string, param: string | null = null): ApiError =>
  new ApiError(404, "invalid_request_error", `No such File object: ${id}`, param, "file_not_found");

export function fineTuning(gateway: Gateway): FineTuning {
  if (gateway.fineTuning === undefined) throw new ApiError(503, "service_unavailable_error", "Fine-tuning is not available on this server.", null, "not_ready");
  return gateway.fineTuning;
}

export async function uploadFile(gateway: Gateway, upload: { filename: string; purpose: string; bytes: Uint8Array }): Promise<FileObject> {
  if (upload.purpose !== "fine-tune") throw invalidRequest(`purpose must be "fine-tune" (the only purpose this server stores files for), got ${JSON.stringify(upload.purpose.slice(0, 40))}.`, "purpose");
  if (upload.bytes.byteLength === 0) throw invalidRequest("The file is empty.", "file", "empty_file");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(upload.bytes);
  } catch {
    throw invalidRequest("The file is not valid UTF-8.", "file", "invalid_encoding");
  }
  const { examples, errors } = parseDataset(text);
  if (errors.length > 0) throw invalidRequest(`The file is not valid fine-tuning JSONL (${errors.length} bad line${errors.length === 1 ? "" : "s"}): ${formatLineErrors(errors)}.`, "file", "invalid_file_format");
  if (examples.length === 0) throw invalidRequest("The file has no examples.", "file", "empty_file");
  return fineTuning(gateway).files.create(upload.filename, upload.bytes, { purpose: "fine-tune", examples: examples.length });
}

export async function listFiles(gateway: Gateway, query: ListFilesQuery): Promise<FileList> {
  let files = (await fineTuning(gateway).files.list()).filter((file) => query.purpose === undefined || file.purpose === query.purpose);
  if (query.order === "desc") files.reverse();
  files = files.slice(startAfter(files, query.after));
  const data = files.slice(0, query.limit);
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: files.length > data.length };
}

export async function getFile(gateway: Gateway, id: string): Promise<FileObject> {
  const file = await fineTuning(gateway).files.get(id);
  if (file === undefined) throw fileNotFound(id);
  return file;
}

export async function fileContent(gateway: Gateway, id: string): Promise<{ file: FileObject; bytes: Uint8Array }> {
  const file = await getFile(gateway, id);
  const bytes = await fineTuning(gateway).files.content(id);
  if (bytes === undefined) throw fileNotFound(id);
  return { file, bytes };
}

export async function deleteFile(gateway: Gateway, id: string): Promise<FileDeleted> {
  if (!(await fineTuning(gateway).files.delete(id))) throw fileNotFound(id);
  return { id, object: "file", deleted: true };
}
