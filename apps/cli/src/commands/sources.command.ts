/**
 * `betblocker sources add|list|enable|disable|remove|fetch`: the scheduled list sources (Pi-hole-adlist
 * style) that the worker imports hourly. `fetch` runs the same import as the worker, now, in this process.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { importListSources } from "@betblocker/core/list-sources/import-sources.service";
import {
  addListSource,
  listSources,
  removeListSource,
  setSourceEnabled,
} from "@betblocker/core/list-sources/list-source.service";
import { createSql } from "@betblocker/db/client";
import { EXIT_FAILURE, EXIT_OK, UsageError } from "../cli-io";
import type { Command, CommandContext } from "../main";
import { OPERATOR } from "./blocklist.command";

async function withSql<T>(
  ctx: CommandContext,
  fn: (sql: ReturnType<typeof createSql>) => Promise<T>,
): Promise<T> {
  const db = await ctx.database();
  const sql = createSql(db.url, { max: 2, applicationName: "betblocker-cli" });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function oneName(positionals: string[], action: string): string {
  if (positionals.length !== 1) throw new UsageError(`${action} takes exactly one <name>`);
  return positionals[0] as string;
}

export const sourcesCommand: Command = async (args, ctx) => {
  const [action, ...rest] = args;
  switch (action) {
    case "add":
      return await add(rest, ctx);
    case "list":
      return await list(rest, ctx);
    case "enable":
    case "disable": {
      const { positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true });
      const name = oneName(positionals, action);
      await withSql(ctx, (sql) => setSourceEnabled(sql, OPERATOR, name, action === "enable"));
      ctx.io.out(`${action}d ${name}`);
      return EXIT_OK;
    }
    case "remove": {
      const { positionals } = parseArgs({ args: rest, strict: true, allowPositionals: true });
      const name = oneName(positionals, action);
      const result = await withSql(ctx, (sql) => removeListSource(sql, OPERATOR, name));
      ctx.io.out(`removed ${name}; ${result.deactivated} entries only it listed are now inactive`);
      return EXIT_OK;
    }
    case "fetch":
      return await fetch(rest, ctx);
    default:
      throw new UsageError(
        `expected add, list, enable, disable, remove or fetch, got ${JSON.stringify(action ?? "")}`,
      );
  }
};

async function add(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      format: { type: "string" },
      license: { type: "string" },
      category: { type: "string" },
      disabled: { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 2) throw new UsageError("add takes <name> <url|path>");
  if (!values.format) throw new UsageError("--format csv|domains|hosts|adblock is required");
  const source = await withSql(ctx, (sql) =>
    addListSource(sql, OPERATOR, {
      name: positionals[0] as string,
      location: positionals[1] as string,
      format: values.format as string,
      license: values.license ?? null,
      category: values.category ?? null,
      enabled: !values.disabled,
    }),
  );
  ctx.io.out(
    `added ${source.name}: ${source.location} (${source.format}${source.enabled ? "" : ", disabled"}); run \`betblocker sources fetch ${source.name}\` to import it now`,
  );
  return EXIT_OK;
}

async function list(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: { json: { type: "boolean" } }, strict: true });
  const sources = await withSql(ctx, (sql) => listSources(sql, OPERATOR));
  if (values.json) {
    ctx.io.out(
      JSON.stringify(
        sources.map((s) => ({
          name: s.name,
          location: s.location,
          format: s.format,
          license: s.license,
          category: s.category,
          enabled: s.enabled,
          last_fetch_at: s.lastFetchAt?.toISOString() ?? null,
          last_status: s.lastStatus,
          last_error: s.lastError,
          entries_count: s.entriesCount,
          consecutive_failures: s.consecutiveFailures,
        })),
      ),
    );
    return EXIT_OK;
  }
  if (sources.length === 0) {
    ctx.io.out("no list sources (add one: betblocker sources add <name> <url|path> --format F)");
    return EXIT_OK;
  }
  ctx.io.out(
    `${"name".padEnd(24)} ${"enabled".padEnd(7)} ${"format".padEnd(7)} ${"status".padEnd(12)} ${"entries".padStart(8)}  last fetch            location`,
  );
  for (const s of sources) {
    ctx.io.out(
      `${s.name.padEnd(24)} ${(s.enabled ? "yes" : "no").padEnd(7)} ${s.format.padEnd(7)} ${(s.lastStatus ?? "never").padEnd(12)} ${String(s.entriesCount).padStart(8)}  ${(s.lastFetchAt?.toISOString().slice(0, 19) ?? "-").padEnd(20)}  ${s.location}`,
    );
    if (s.lastStatus === "error")
      ctx.io.out(`${"".padEnd(24)} error (${s.consecutiveFailures} in a row): ${s.lastError}`);
  }
  return EXIT_OK;
}

async function fetch(args: string[], ctx: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args, strict: true, allowPositionals: true });
  if (positionals.length > 1) throw new UsageError("fetch takes at most one <name>");
  const report = await withSql(ctx, (sql) =>
    importListSources(
      {
        sql,
        actor: OPERATOR,
        config: ctx.config,
        owner: `cli-${process.pid}-${randomBytes(3).toString("hex")}`,
      },
      positionals.length === 1 ? { names: positionals } : { force: true },
    ),
  );
  if (report.results.length === 0) {
    ctx.io.err(
      positionals.length === 1
        ? `no list source named ${positionals[0]} (or a worker is fetching it right now)`
        : "no enabled list source to fetch (or workers are fetching them right now)",
    );
    return EXIT_FAILURE;
  }
  for (const r of report.results) {
    if (r.status === "error") ctx.io.out(`${r.name}: error: ${r.error}`);
    else if (r.status === "not_modified") ctx.io.out(`${r.name}: not modified (${r.entries} entries)`);
    else
      ctx.io.out(
        `${r.name}: ok entries=${r.entries} inserted=${r.diff?.inserted} reactivated=${r.diff?.reactivated} removed=${r.diff?.removed} deactivated=${r.diff?.deactivated} rejected_lines=${r.rejected} seconds=${(r.durationMs / 1000).toFixed(2)}`,
      );
  }
  return report.results.some((r) => r.status === "error") ? EXIT_FAILURE : EXIT_OK;
}
