import { loadConfig } from "./config/config.ts";
import { createLogger } from "./logging/logger.ts";
import { startServer } from "./server.ts";

const config = loadConfig(process.env, process.argv.slice(2));
const logger = createLogger(config.logLevel);
const running = await startServer(config, logger);
running.loaded.then(
  () => logger.info("ready"),
  (error: unknown) => {
    logger.fatal({ err: error }, "could not load models");
    process.exit(1);
  },
);

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, deadlineMs: config.shutdownDeadlineMs }, "draining");
    running.shutdown(config.shutdownDeadlineMs).then(
      ({ drained }) => {
        logger.info({ drained }, "stopped");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
