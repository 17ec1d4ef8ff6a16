/**
 * Typed errors for LoRA adapter files. Every way an adapter can be refused is an
 * `AdapterError` naming the file (and the tensor, where one is at fault), so the gateway
 * maps the whole family to a 400 `invalid_request_error` in one place.
 */
export type AdapterErrorKind =
  /** The file cannot be read (missing, a directory, permissions). */
  | "unreadable"
  /** Not a well-formed LoRA GGUF adapter: bad container, metadata or tensor layout. */
  | "format"
  /** A well-formed adapter that does not fit the base model. */
  | "mismatch";

export class AdapterError extends Error {
  constructor(
    readonly kind: AdapterErrorKind,
    readonly path: string,
    readonly detail: string,
    readonly tensor?: string,
    options?: { cause?: unknown },
  ) {
    super(`LoRA adapter ${path}${tensor ? ` (tensor ${tensor})` : ""}: ${detail}`, options);
    this.name = "AdapterError";
  }
}

export class AdapterFormatError extends AdapterError {
  constructor(path: string, detail: string, tensor?: string, options?: { cause?: unknown }) {
    super("format", path, detail, tensor, options);
    this.name = "AdapterFormatError";
  }
}

export class AdapterMismatchError extends AdapterError {
  constructor(path: string, detail: string, tensor?: string) {
    super("mismatch", path, detail, tensor);
    this.name = "AdapterMismatchError";
  }
}
