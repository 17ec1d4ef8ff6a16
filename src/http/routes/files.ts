import { Hono } from "hono";
import { listFilesQuerySchema } from "../../protocol/files.ts";
import { invalidRequest, payloadTooLarge } from "../../protocol/errors.ts";
import { deleteFile, fileContent, getFile, listFiles, uploadFile } from "../../service/files-service.ts";
import type { Gateway } from "../../service/gateway.ts";
import { readBodyBytes } from "../body.ts";
import type { GatewayEnv } from "../env.ts";
import { validate } from "../validate.ts";

/** Room for the multipart envelope around a file of MAX_UPLOAD_BYTES. */
const multipartOverhead = 64 * 1024;

/** OpenAI's Files API for fine-tuning data: multipart upload, list, retrieve, content, delete. */
export function fileRoutes(gateway: Gateway): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const limit = gateway.config.maxUploadBytes;
  app.post("/v1/files", async (c) => {
    const contentType = c.req.header("content-type") ?? "";
    if (!contentType.toLowerCase().startsWith("multipart/form-data")) throw invalidRequest("Upload the file as multipart/form-data with fields `file` and `purpose`.", "file", "invalid_upload");
    const body = await readBodyBytes(c.req.raw, limit + multipartOverhead, () => uploadTooLarge(limit));
    let form: FormData;
    try {
      form = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } }).formData();
    } catch {
      throw invalidRequest("The multipart body could not be parsed.", "file", "invalid_upload");
    }
    const file = form.get("file");
    if (!(file instanceof File)) throw invalidRequest("The `file` field is missing (or not a file).", "file");
    if (file.size > limit) throw uploadTooLarge(limit);
    const purpose = form.get("purpose");
    if (typeof purpose !== "string") throw invalidRequest("The `purpose` field is missing.", "purpose");
    return c.json(await uploadFile(gateway, { filename: file.name.slice(0, 256) || "upload.jsonl", purpose, bytes: new Uint8Array(await file.arrayBuffer()) }));
  });
  app.get("/v1/files", async (c) => c.json(await listFiles(gateway, validate(listFilesQuerySchema, c.req.query()))));
  app.get("/v1/files/:id", async (c) => c.json(await getFile(gateway, c.req.param("id"))));
  app.get("/v1/files/:id/content", async (c) => {
    const { file, bytes } = await fileContent(gateway, c.req.param("id"));
    return c.body(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, 200, { "content-type": file.purpose === "fine-tune-results" ? "text/csv" : "application/jsonl" });
  });
  app.delete("/v1/files/:id", async (c) => c.json(await deleteFile(gateway, c.req.param("id"))));
  return app;
}

function uploadTooLarge(limit: number) {
  const error = payloadTooLarge(limit);
  return Object.assign(error, { message: `The file exceeds ${limit} bytes (MAX_UPLOAD_BYTES).` });
}
