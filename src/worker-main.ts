/**
 * `npm run worker`: trains fine-tuning jobs from the shared queue, without the serving engine
 * (no contexts, no HTTP). Several may run, on any machine that reaches REDIS_URL and has the
 * base model's GGUF at the configured path. SIGTERM/SIGINT stop it: a job in training is
 * recorded as failed (the worker shut down), never left running.
 */
import { loadConfig } from "./config/config.ts";
import { FineTuning } from "./finetune/fine-tuning.ts";
import { createLogger } from "./logging/logger.ts";
import { openStore } from "./store/open-store.ts";

const config = loadConfig(process.env, process.argv.slice(2));
const logger = createLogger(config.logLevel).child({ process: "worker" });
if (config.redisUrl === undefined) {
  logger.fatal("REDIS_URL is unset: a worker process shares jobs with gateways through Redis (without it the gateway trains in-process)");
  process.exit(1);
}
const store = await openStore(config.redisUrl, { timeoutMs: config.storeTimeoutMs, logger });
const fineTuning = new FineTuning(config, store, logger);
const workers = Math.max(1, config.workers);
fineTuning.start(workers);
logger.info({ workers }, "fine-tuning worker ready");

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    fineTuning
      .close()
      .then(() => store.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "worker shutdown failed");
          process.exit(1);
        },
      );
  });
}
