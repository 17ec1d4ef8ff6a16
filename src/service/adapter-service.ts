import type { Adapters } from "../adapters/adapters.ts";
import type { AdapterRecord } from "../adapters/registry.ts";
import type { AdapterCard, AdapterDeleted, LoadAdapterRequest, UnloadAdapterRequest } from "../protocol/adapters.ts";
import { notReady, shuttingDown } from "../protocol/errors.ts";
import type { Gateway } from "./gateway.ts";

/** POST /v1/load_lora_adapter: a new name, or a new version of a loaded one (hot swap). */
export async function loadAdapter(gateway: Gateway, request: LoadAdapterRequest): Promise<AdapterCard> {
  const record = await adapters(gateway).load({ name: request.lora_name, loraPath: request.lora_path, scale: request.scale ?? 1 });
  return adapterCard(gateway, record);
}

/** POST /v1/unload_lora_adapter: new requests get 404, in-flight ones finish. */
export async function unloadAdapter(gateway: Gateway, request: UnloadAdapterRequest): Promise<AdapterDeleted> {
  await adapters(gateway).unload(request.lora_name);
  return { object: "lora_adapter.deleted", id: request.lora_name, deleted: true };
}

function adapters(gateway: Gateway): Adapters {
  if (gateway.lifecycle === "draining") throw shuttingDown();
  if (gateway.adapters === undefined) throw notReady();
  return gateway.adapters;
}

function adapterCard(gateway: Gateway, record: AdapterRecord): AdapterCard {
  return {
    object: "lora_adapter",
    id: record.name,
    version: record.version,
    parent: record.base,
    rank: record.rank,
    alpha: record.alpha,
    scale: record.scale,
    sha256: record.sha256,
    size: record.size,
    created: record.created,
    system_fingerprint: gateway.adapterFingerprint(record),
  };
}
