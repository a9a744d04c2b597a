/** The queue library's log lines go through our logger with errors reduced to name, message and code. */
import { describe, expect, it } from "vitest";
import { createWorkerLogger, queueLogger } from "./logger";

describe("queueLogger", () => {
  it("logs a driver error's name, message and code, never the client attached to it", () => {
    const lines: string[] = [];
    const log = createWorkerLogger({ level: "debug", format: "json", write: (line) => lines.push(line) });
    const error = Object.assign(new Error("terminating connection due to administrator command"), {
      code: "57P01",
      severity: "FATAL",
      client: { connectionParameters: { user: "postgres", password: "s3cret-pass" }, parsedStatements: {} },
    });
    queueLogger(log).error("PostgreSQL idle client generated error", { error, job: { id: "1" } });
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
    expect(entry).toMatchObject({
      level: "error",
      scope: "worker",
      msg: "PostgreSQL idle client generated error",
      error: { name: "Error", message: "terminating connection due to administrator command", code: "57P01" },
    });
    expect(lines[0]).not.toContain("s3cret-pass");
    expect(lines[0]).not.toContain("connectionParameters");
    expect(entry).not.toHaveProperty("job");
  });

  it("keeps plain fields and maps warning and info levels", () => {
    const lines: string[] = [];
    const log = createWorkerLogger({ level: "debug", format: "json", write: (line) => lines.push(line) });
    const queue = queueLogger(log);
    queue.warn("slow", { attempts: 3 });
    queue.info("Completed task 7");
    expect(lines.map((line) => JSON.parse(line) as { level: string })).toMatchObject([
      { level: "warn", msg: "slow", attempts: 3 },
      { level: "debug", msg: "Completed task 7" },
    ]);
  });
});
