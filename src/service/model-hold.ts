import type { ServedModel } from "../engine/served-model.ts";

/**
 * A request's model, resolved once when it starts: a base model or one adapter version. The
 * request keeps it until disposed (`using`), so a swap or unload lets it finish where it began.
 */
export interface ModelHold extends Disposable {
  model: ServedModel;
  /** system_fingerprint of every response and chunk: names the adapter version that answered. */
  fingerprint: string;
}
