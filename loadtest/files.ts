/**
 * The fine-tuning API's cheap routes (no training job is created): `VUS` (4) clients back to
 * back for `DURATION` (1m), each iteration uploading a small JSONL file (multipart, purpose
 * fine-tune; chat and prompt/completion examples alternate), reading it back (the record, its
 * content byte for byte, the list that must hold it), deleting it and finding it gone (404
 * file_not_found); every fourth iteration also uploads a file with a bad line, which must be a
 * 400 invalid_file_format naming the line, and lists fine-tuning jobs. Teardown lists the files
 * again: any upload of this run still there is counted in `files_left`, which must be 0.
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/files.ts
 */
import { check } from "k6";
import http from "k6/http";
import { Counter } from "k6/metrics";
import type { Options } from "k6/options";
import { baseUrl, explain } from "./config.ts";

const filesLeft = new Counter("files_left");

export const options: Options = {
  scenarios: {
    files: { executor: "constant-vus", vus: Number(__ENV.VUS ?? 4), duration: __ENV.DURATION ?? "1m" },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
    files_left: ["count==0"],
  },
};

interface FileObject {
  id: string;
  object: string;
  bytes: number;
  filename: string;
  purpose: string;
  status: string;
  examples: number;
}

/** Authorization only: k6 sets the multipart content type itself. */
function auth(): Record<string, string> {
  const key = __ENV.API_KEY;
  return key === undefined ? {} : { authorization: `Bearer ${key}` };
}

/** Every upload's name starts with the run's tag, so teardown finds this run's files and no one else's. */
export function setup(): { tag: string } {
  return { tag: `loadtest-${Date.now()}` };
}

function dataset(examples: number, chat: boolean): string {
  return Array.from({ length: examples }, (_, i) =>
    JSON.stringify(
      chat
        ? { messages: [{ role: "user", content: `What is ${i} plus ${i}?` }, { role: "assistant", content: String(2 * i) }] }
        : { prompt: `The year after 18${10 + i} is`, completion: ` 18${11 + i}` },
    ),
  ).join("\n");
}

function upload(text: string, filename: string) {
  return http.post(`${baseUrl}/v1/files`, { purpose: "fine-tune", file: http.file(text, filename, "application/jsonl") }, { headers: auth(), tags: { route: "upload" }, responseCallback: http.expectedStatuses(200, 400) });
}

export default function ({ tag }: { tag: string }): void {
  const examples = 1 + (__ITER % 5);
  const text = dataset(examples, __ITER % 2 === 0);
  const filename = `${tag}-${__VU}-${__ITER}.jsonl`;
  const created = upload(text, filename);
  const file = created.status === 200 ? (created.json() as unknown as FileObject) : undefined;
  explain("upload", created, undefined);
  check(created, {
    "upload 200": (r) => r.status === 200,
    "file object as uploaded": () =>
      file !== undefined && /^file-/.test(file.id) && file.object === "file" && file.purpose === "fine-tune" && file.status === "processed" && file.filename === filename && file.bytes === text.length && file.examples === examples,
  });
  if (file === undefined) return;
  const url = `${baseUrl}/v1/files/${file.id}`;
  const got = http.get(url, { headers: auth(), tags: { route: "get" } });
  const content = http.get(`${url}/content`, { headers: auth(), tags: { route: "content" } });
  const listed = http.get(`${baseUrl}/v1/files?purpose=fine-tune`, { headers: auth(), tags: { route: "list" } });
  check(got, { "get: the same record": (r) => r.status === 200 && r.json("id") === file.id && r.json("bytes") === file.bytes });
  check(content, { "content byte for byte": (r) => r.status === 200 && r.body === text });
  check(listed, {
    "list holds the file": (r) => r.status === 200 && r.json("object") === "list" && (r.json("data") as unknown as FileObject[]).some(({ id }) => id === file.id),
  });
  const deleted = http.del(url, null, { headers: auth(), tags: { route: "delete" } });
  check(deleted, { "deleted": (r) => r.status === 200 && r.json("id") === file.id && r.json("deleted") === true && r.json("object") === "file" });
  const gone = http.get(url, { headers: auth(), tags: { route: "get" }, responseCallback: http.expectedStatuses(404) });
  check(gone, { "gone: 404 file_not_found": (r) => r.status === 404 && r.json("error.code") === "file_not_found" });
  if (__ITER % 4 !== 0) return;
  const bad = upload(`${dataset(2, true)}\n{"messages": [`, `${tag}-bad.jsonl`);
  check(bad, { "bad line: 400 invalid_file_format naming line 3": (r) => r.status === 400 && r.json("error.code") === "invalid_file_format" && String(r.json("error.message")).includes("line 3:") });
  const jobs = http.get(`${baseUrl}/v1/fine_tuning/jobs?limit=5`, { headers: auth(), tags: { route: "jobs" } });
  check(jobs, { "jobs list": (r) => r.status === 200 && r.json("object") === "list" && Array.isArray(r.json("data")) });
}

export function teardown({ tag }: { tag: string }): void {
  const listed = http.get(`${baseUrl}/v1/files?purpose=fine-tune`, { headers: auth() });
  const left = listed.status === 200 ? (listed.json("data") as unknown as FileObject[]).filter(({ filename }) => filename.startsWith(tag)) : [];
  filesLeft.add(left.length);
  check(listed, { "teardown list": (r) => r.status === 200 });
}
