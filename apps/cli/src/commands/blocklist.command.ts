import { createWriteStream, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { classifyDomain, DISCOVERY_DEFAULTS } from "@betblocker/common/discovery/index";
import {
  type CheckResult,
  checkName,
  importBlocklist,
  loadLatestPublished,
  loadSigningKeyPair,
  parseBlocklistSource,
  parseListFormat,
  publishBlocklist,
} from "@betblocker/core";
import { createSql } from "@betblocker/db/client";
import type { ActorContext } from "@betblocker/db/context";
import { streamActiveEntries } from "@betblocker/db/repositories/blocklist.repository";
import { EXIT_FAILURE, EXIT_OK, ProgressBar, UsageError } from "../cli-io";
import type { Command, CommandContext } from "../main";

/** CLI actions are the operator's: no account, admin role, no client IP (audit rows show a NULL actor). */
export const OPERATOR: ActorContext = { accountId: null, role: "admin", ip: null };
const SHOWN_REJECTS = 20;

export const blocklistCommand: Command = async (args, ctx) => {
  const [action, ...rest] = args;
  switch (action) {
    case "import":
      return await importCommand(rest, ctx);
    case "export":
      return await exportCommand(rest, ctx);
    case "publish":
      return await publishCommand(rest, ctx);
    case "check":
      return await checkCommand(rest, ctx);
    default:
      throw new UsageError(`expected import, export, publish or check, got ${JSON.stringify(action ?? "")}`);
  }
};

async function withSql<T>(
  ctx: CommandContext,
  fn: (sql: ReturnType<typeof createSql>) => Promise<T>,
): Promise<T> {
  const db = await ctx.database();
  const sql = createSql(db.url, { max: 4, applicationName: "betblocker-cli" });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function importCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { format: { type: "string" }, category: { type: "string" }, source: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new UsageError("import takes exactly one <path|url>");
  if (!values.format) throw new UsageError("--format csv|domains|hosts|adblock is required");
  let format: ReturnType<typeof parseListFormat>;
  let source: ReturnType<typeof parseBlocklistSource>;
  try {
    format = parseListFormat(values.format);
    source = parseBlocklistSource(values.source ?? "curated");
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const location = positionals[0] as string;
  const bar = ctx.progress ? new ProgressBar("importing") : null;
  let shown = 0;
  const report = await withSql(ctx, (sql) =>
    importBlocklist(sql, {
      location,
      format,
      source,
      actor: OPERATOR,
      ...(values.category !== undefined ? { category: values.category } : {}),
      onProgress: (p) => bar?.update(p.bytesRead, p.bytesTotal, `${p.entries} entries`),
      onReject: (reject) => {
        if (shown++ < SHOWN_REJECTS) ctx.io.err(`line ${reject.line}: ${reject.reason}: ${reject.text}`);
      },
    }),
  );
  bar?.finish();
  if (report.rejected > SHOWN_REJECTS)
    ctx.io.err(`... and ${report.rejected - SHOWN_REJECTS} more rejected lines`);
  ctx.io.out(
    `imported ${location}: lines=${report.lines} entries=${report.entries} inserted=${report.inserted} updated=${report.updated} unchanged=${report.unchanged} skipped=${report.skipped} rejected=${report.rejected} seconds=${(report.durationMs / 1000).toFixed(2)}`,
  );
  return EXIT_OK;
}

async function exportCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { format: { type: "string", default: "domains" }, output: { type: "string" } },
    strict: true,
    allowPositionals: false,
  });
  if (values.format !== "domains" && values.format !== "csv")
    throw new UsageError("--format must be domains or csv");
  const sink = values.output ? createWriteStream(values.output) : null;
  const write = (line: string) => (sink ? sink.write(`${line}\n`) : ctx.io.out(line));
  let count = 0;
  await withSql(ctx, async (sql) => {
    if (values.format === "csv") write("domain,category");
    for await (const rows of streamActiveEntries(sql)) {
      for (const row of rows) {
        write(values.format === "csv" ? `${row.domain},${row.category ?? ""}` : row.domain);
        count++;
      }
    }
  });
  if (sink)
    await new Promise<void>((resolve, reject) =>
      sink.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  ctx.io.err(`exported ${count} active entries${values.output ? ` to ${values.output}` : ""}`);
  return EXIT_OK;
}

async function publishCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { "if-changed": { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  const keys = loadSigningKeyPair(ctx.config.blocklist);
  const result = await withSql(ctx, (sql) =>
    publishBlocklist(sql, {
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      actor: OPERATOR,
      onlyIfChanged: values["if-changed"] ?? false,
    }),
  );
  if (!result.published) {
    ctx.io.out(`unchanged: version ${result.version} already holds these ${result.entryCount} entries`);
    return EXIT_OK;
  }
  ctx.io.out(
    `published version ${result.version}: entries=${result.entryCount} bytes=${result.snapshotBytes} delta_bytes=${result.deltaBytes ?? "none"} compile_ms=${result.compileMs} key=${keys.keyId}`,
  );
  return EXIT_OK;
}

function describe(result: CheckResult): string {
  if (!result.valid) return `invalid  ${result.input}  (${result.reason})`;
  const e = result.explanation;
  if (e.blocked)
    return `blocked  ${result.domain}  reason=${e.reason} matched=${e.matched} category=${e.category}`;
  if (e.reason === "allowlist")
    return `allowed  ${result.domain}  reason=allowlist matched=${e.matched} (overrides ${e.category})`;
  return `allowed  ${result.domain}  reason=not-listed`;
}

async function checkCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { file: { type: "string" }, json: { type: "boolean" }, discovery: { type: "boolean" } },
    strict: true,
    allowPositionals: true,
  });
  if (values.discovery && !values.file) throw new UsageError("--discovery goes with --file");
  if (values.file && positionals.length > 0) throw new UsageError("give either a domain or --file, not both");
  if (!values.file && positionals.length !== 1)
    throw new UsageError("check takes one <domain> or --file FILE");
  const keys = loadSigningKeyPair(ctx.config.blocklist);
  const published = await withSql(ctx, (sql) => loadLatestPublished(sql, keys.publicKey));
  if (!published) {
    ctx.io.err("no blocklist version is published yet: run `betblocker blocklist publish`");
    return EXIT_FAILURE;
  }
  const emit = (result: CheckResult) =>
    ctx.io.out(values.json ? JSON.stringify({ version: published.version, ...result }) : describe(result));
  if (!values.file) {
    const result = checkName(published.matcher, positionals[0] as string);
    emit(result);
    return result.valid ? EXIT_OK : EXIT_FAILURE;
  }
  let text: string;
  try {
    text = readFileSync(values.file, "utf8");
  } catch (error) {
    ctx.io.err(
      `cannot read ${values.file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
    return EXIT_FAILURE;
  }
  let checked = 0;
  let blocked = 0;
  let flagged = 0;
  let invalid = 0;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const result = checkName(published.matcher, line);
    if (!result.valid) {
      invalid++;
      ctx.io.err(describe(result));
      continue;
    }
    checked++;
    if (result.blocked) {
      blocked++;
      emit(result);
      continue;
    }
    if (values.discovery && result.explanation.reason !== "allowlist") {
      // Not listed: would the name-based classifier send it to review (or add it)?
      const verdict = classifyDomain(result.domain);
      if (verdict.score >= DISCOVERY_DEFAULTS.reviewThreshold) {
        flagged++;
        ctx.io.out(
          values.json
            ? JSON.stringify({ version: published.version, ...result, discovery: verdict })
            : `flagged  ${result.domain}  score=${verdict.score} signals=${verdict.signals.join(",")}`,
        );
        continue;
      }
    }
    if (values.json) emit(result);
  }
  if (invalid > 0) ctx.io.err(`${invalid} lines were not valid domain names and were not checked`);
  // The summary is the last line in both modes (JSON mode: one JSON object per checked name before it).
  ctx.io.out(
    values.discovery
      ? `checked=${checked} blocked=${blocked} flagged=${flagged} allowed=${checked - blocked - flagged}`
      : `checked=${checked} blocked=${blocked} allowed=${checked - blocked}`,
  );
  return EXIT_OK;
}
