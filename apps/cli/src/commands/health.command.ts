/**
 * `betblocker health`: is this installation able to protect anyone? Database reachable, migrations applied,
 * signing key present and private, latest list published, signed by that key and loadable.
 */
import { existsSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { loadLatestPublished, loadSigningKeyPair, type SigningKeyPair } from "@betblocker/core";
import { workerHealthChecks } from "@betblocker/core/jobs/health";
import { createSql, redactUrl } from "@betblocker/db/client";
import { migrationStatus } from "@betblocker/db/migrate";
import { migrationsDir } from "@betblocker/db/paths";
import { EXIT_FAILURE, EXIT_OK } from "../cli-io";
import type { Command } from "../main";
import { OPERATOR } from "./blocklist.command";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export const healthCommand: Command = async (args, ctx) => {
  const { values } = parseArgs({
    args,
    options: { json: { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });

  let keys: SigningKeyPair | null = null;
  const keyPath = ctx.config.blocklist.signingKeyPath;
  if (!existsSync(keyPath)) add("signing_key", false, `missing: ${keyPath} (run betblocker keys generate)`);
  else {
    try {
      keys = loadSigningKeyPair(ctx.config.blocklist);
      add(
        "signing_key",
        true,
        `${keyPath} mode ${(statSync(keyPath).mode & 0o777).toString(8)} key id ${keys.keyId}`,
      );
    } catch (error) {
      add("signing_key", false, (error as Error).message);
    }
  }

  try {
    const db = await ctx.database();
    const sql = createSql(db.url, { max: 1, applicationName: "betblocker-health" });
    try {
      const [row] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
      add("database", true, `PostgreSQL ${row?.version} (${db.mode}) ${redactUrl(db.url)}`);
      const status = await migrationStatus(db.url, migrationsDir());
      const pending = status.filter((m) => m.state === "pending").map((m) => m.name);
      const changed = status.filter((m) => m.state === "changed").map((m) => m.name);
      add(
        "migrations",
        pending.length === 0 && changed.length === 0,
        changed.length
          ? `edited after apply: ${changed.join(", ")}`
          : pending.length
            ? `pending: ${pending.join(", ")}`
            : `${status.length} applied`,
      );
      if (keys && pending.length === 0) {
        try {
          const published = await loadLatestPublished(sql, keys.publicKey);
          if (published) {
            const ageHours = (Date.now() - published.list.header.createdAt) / 3_600_000;
            add(
              "blocklist",
              true,
              `version ${published.version}, ${published.list.header.entryCount} entries, signature ok, ${ageHours.toFixed(1)} h old`,
            );
          } else add("blocklist", false, "no version published (run betblocker blocklist publish)");
        } catch (error) {
          add("blocklist", false, `latest version does not load: ${(error as Error).message}`);
        }
      }
      // Worker: failing list sources, dead alert deliveries, failed queue jobs.
      if (pending.length === 0) checks.push(...(await workerHealthChecks(sql, OPERATOR)));
    } finally {
      await sql.end({ timeout: 5 });
    }
  } catch (error) {
    add("database", false, (error as Error).message);
  }

  const healthy = checks.every((c) => c.ok);
  if (values.json) ctx.io.out(JSON.stringify({ status: healthy ? "ok" : "fail", checks }));
  else {
    for (const c of checks) ctx.io.out(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(12)} ${c.detail}`);
    ctx.io.out(healthy ? "healthy" : "unhealthy");
  }
  return healthy ? EXIT_OK : EXIT_FAILURE;
};
