/**
 * `betblocker alerts list [--dead] [--limit N] [--json]` and `alerts retry-dead`: the alert outbox that the
 * worker delivers (e-mail, signed webhooks), with its dead letters.
 */
import { parseArgs } from "node:util";
import { createSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import { listAlertDeliveries, retryDeadAlertDeliveries } from "@betblocker/db/repositories/alert.repository";
import { EXIT_OK, UsageError } from "../cli-io";
import type { Command } from "../main";
import { OPERATOR } from "./blocklist.command";

export const alertsCommand: Command = async (args, ctx) => {
  const [action, ...rest] = args;
  if (action !== "list" && action !== "retry-dead")
    throw new UsageError(`expected list or retry-dead, got ${JSON.stringify(action ?? "")}`);
  const { values } = parseArgs({
    args: rest,
    options: { dead: { type: "boolean" }, limit: { type: "string" }, json: { type: "boolean" } },
    strict: true,
  });
  const limit = Number(values.limit ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw new UsageError("--limit must be 1-10000");
  const db = await ctx.database();
  const sql = createSql(db.url, { max: 1, applicationName: "betblocker-cli" });
  try {
    if (action === "retry-dead") {
      const count = await withActor(sql, OPERATOR, (tx) => retryDeadAlertDeliveries(tx, new Date()));
      ctx.io.out(`${count} dead deliveries queued again`);
      return EXIT_OK;
    }
    const rows = await withActor(sql, OPERATOR, (tx) =>
      listAlertDeliveries(tx, { ...(values.dead ? { status: "dead" as const } : {}), limit }),
    );
    if (values.json) {
      ctx.io.out(JSON.stringify(rows));
      return EXIT_OK;
    }
    if (rows.length === 0) ctx.io.out(values.dead ? "no dead deliveries" : "no alert deliveries");
    for (const r of rows) {
      ctx.io.out(
        `${r.createdAt.toISOString().slice(0, 19)}  ${r.status.padEnd(7)} ${r.channel.padEnd(7)} ${r.recipient}  attempts=${r.attempts}  ${r.subject}${r.lastError ? `  last_error: ${r.lastError}` : ""}`,
      );
    }
    return EXIT_OK;
  } finally {
    await sql.end({ timeout: 5 });
  }
};
