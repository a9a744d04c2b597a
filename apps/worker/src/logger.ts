/**
 * The worker's log lines: "2026-05-01T10:00:00.000Z info  message {fields}" (pretty) or one JSON object per
 * line (logging.format = "json"), filtered by logging.level. Also adapts the queue library's logger.
 */
import type { JobLogger } from "@betblocker/core/jobs/job";
import { Logger, type LogLevel } from "graphile-worker";

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"] as const;
type Level = (typeof LEVELS)[number];

export interface WorkerLogger extends JobLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): WorkerLogger;
}

export function createWorkerLogger(
  options: { level: Level; format: "json" | "pretty"; write?: (line: string) => void },
  scope = "worker",
): WorkerLogger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const minimum = LEVELS.indexOf(options.level);
  const emit = (level: Level, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(level) < minimum) return;
    const time = new Date().toISOString();
    if (options.format === "json") write(JSON.stringify({ time, level, scope, msg: message, ...fields }));
    else
      write(
        `${time} ${level.padEnd(5)} [${scope}] ${message}${fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ""}`,
      );
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (child) => createWorkerLogger(options, `${scope}:${child}`),
  };
}

/**
 * An error as log fields: name, message and code only. The queue library passes driver errors whose
 * enumerable properties include the whole database client (connection parameters, statements).
 */
export function errorFields(error: Error): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  return { name: error.name, message: error.message, ...(typeof code === "string" ? { code } : {}) };
}

/** The queue library's Logger, writing through ours. */
export function queueLogger(log: WorkerLogger): Logger {
  return new Logger(() => (level: LogLevel, message: string, meta?: unknown) => {
    const fields = meta && typeof meta === "object" ? { ...(meta as Record<string, unknown>) } : undefined;
    if (fields) {
      delete fields.job;
      for (const [key, value] of Object.entries(fields)) {
        if (value instanceof Error) fields[key] = errorFields(value);
      }
    }
    if (level === "error") log.error(message, fields);
    else if (level === "warning") log.warn(message, fields);
    // The library's info lines ("Completed task ...") are per job run: debug, or a minutely job floods the log.
    else log.debug(message, fields);
  });
}
