import { parseArgs } from "node:util";
import { normalizeDomain } from "@betblocker/common/domain/normalize";
import { importAllowlist } from "@betblocker/core";
import { createSql } from "@betblocker/db/client";
import { withActor } from "@betblocker/db/context";
import { listAllowlist, upsertAllowlist } from "@betblocker/db/repositories/blocklist.repository";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../cli-io";
import type { Command } from "../main";
import { OPERATOR } from "./blocklist.command";

export const allowlistCommand: Command = async (args, ctx) => {
  const [action, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { reason: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  if (action !== "import" && action !== "add" && action !== "list") {
    throw new UsageError(`expected import, add or list, got ${JSON.stringify(action ?? "")}`);
  }
  if (action !== "list" && positionals.length !== 1)
    throw new UsageError(`allowlist ${action} takes exactly one argument`);
  const db = await ctx.database();
  const sql = createSql(db.url, { max: 2, applicationName: "betblocker-cli" });
  try {
    if (action === "list") {
      for (const entry of await listAllowlist(sql))
        ctx.io.out(entry.reason ? `${entry.domain}  # ${entry.reason}` : entry.domain);
      return EXIT_OK;
    }
    if (action === "add") {
      const normalized = normalizeDomain(positionals[0] as string);
      if (!normalized.ok) {
        ctx.io.err(`invalid domain: ${normalized.reason}`);
        return EXIT_FAILURE;
      }
      const added = await withActor(sql, OPERATOR, (tx) =>
        upsertAllowlist(tx, [{ domain: normalized.domain, reason: values.reason ?? null }], null),
      );
      ctx.io.out(added ? `allowlisted ${normalized.domain}` : `${normalized.domain} was already allowlisted`);
      return EXIT_OK;
    }
    const report = await importAllowlist(sql, positionals[0] as string, OPERATOR, values.reason ?? null);
    for (const reject of report.rejects.slice(0, 20))
      ctx.io.err(`line ${reject.line}: ${reject.reason}: ${reject.text}`);
    ctx.io.out(
      `allowlist import: entries=${report.entries} added=${report.added} rejected=${report.rejected}`,
    );
    return EXIT_OK;
  } finally {
    await sql.end({ timeout: 5 });
  }
};
