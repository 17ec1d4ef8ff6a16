import { pino, type DestinationStream, type Logger } from "pino";

/** JSON lines to stdout, or to `destination` (tests read the log from one). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options) : pino(options, destination);
}
