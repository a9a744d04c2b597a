/**
 * `npm start`: the whole platform on one machine. Today: the database (embedded unless DATABASE_URL is set),
 * migrations, the signing key, the seed lists, the shared public gambling list when present, and a published
 * signed blocklist version, the worker and the API (web API and the mutual-TLS device API). A later issue adds
 * a demo agent here.
 * Runs until SIGINT/SIGTERM (so CLI commands can share the embedded database); `--once` exits after set-up.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createLogger } from "@betblocker/api/app";
import { type RunningApi, startApiServer } from "@betblocker/api/server";
import {
  ConfigError,
  describeConfig,
  ensureSigningKeyPair,
  importAllowlist,
  importBlocklist,
  loadServerConfig,
  publishBlocklist,
} from "@betblocker/core";
import { ensureDemoAdmin } from "@betblocker/core/auth/demo-admin";
import { createPasswordHasher } from "@betblocker/core/auth/password-hasher";
import { importListSources } from "@betblocker/core/list-sources/import-sources.service";
import { ensureListSource } from "@betblocker/core/list-sources/list-source.service";
import { createSql, redactUrl } from "@betblocker/db/client";
import { migrate } from "@betblocker/db/migrate";
import { openDatabase } from "@betblocker/db/open";
import { migrationsDir, repoRoot, sharedDataDir } from "@betblocker/db/paths";
import { createWorkerLogger } from "@betblocker/worker/logger";
import { describeJobs, type RunningWorker, startWorker } from "@betblocker/worker/worker";
import { OPERATOR } from "./commands/blocklist.command";
import { type DemoAgent, demoAgentStateDir, startDemoAgent } from "./demo-agent";

const log = (line: string) => process.stdout.write(`${line}\n`);

export async function start(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { once: { type: "boolean" }, "no-agent": { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  let config: ReturnType<typeof loadServerConfig>;
  try {
    config = loadServerConfig();
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    return 1;
  }
  log(`BetBlocker starting (data dir ${config.dataDir})`);
  if (config.logging.level === "debug") log(JSON.stringify(describeConfig(config)));

  const db = await openDatabase({
    url: config.database.url,
    dataDir: config.dataDir,
    embeddedPort: config.database.embeddedPort,
    log: (l) => log(`  db: ${l}`),
  });
  if (db.mode === "embedded-attached") {
    process.stderr.write(
      "another BetBlocker instance is already running on this data directory; stop it first\n",
    );
    return 1;
  }
  const sql = createSql(db.url, { max: 4, applicationName: "betblocker-start" });
  let stopping = false;
  let worker: RunningWorker | null = null;
  let api: RunningApi | null = null;
  let agent: DemoAgent | null = null;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log("stopping");
    await agent?.stop();
    await api?.stop();
    await worker?.stop();
    await sql.end({ timeout: 5 });
    await db.close();
    log("stopped");
  };
  try {
    log(`database: ${redactUrl(db.url)} (${db.mode === "external" ? "DATABASE_URL" : "embedded"})`);
    const migrated = await migrate(db.url, migrationsDir());
    log(`migrations: ${migrated.applied.length} applied now, ${migrated.alreadyApplied} already applied`);

    const { pair, created } = ensureSigningKeyPair(config.blocklist);
    log(
      `signing key: ${pair.privatePath} (${created ? "created" : "existing"}, key id ${pair.keyId}); agents pin ${pair.publicPath}`,
    );

    const seeds = join(repoRoot(), "seeds");
    const allow = await importAllowlist(
      sql,
      join(seeds, "help-resources.txt"),
      OPERATOR,
      "help resource (seed)",
    );
    log(`allowlist: ${allow.entries} help resources (${allow.added} new)`);
    const starter = await importBlocklist(sql, {
      location: join(seeds, "starter-blocklist.csv"),
      format: "csv",
      source: "curated",
      actor: OPERATOR,
    });
    log(`starter list: ${starter.entries} entries (${starter.inserted} new, ${starter.rejected} rejected)`);
    const shared = join(sharedDataDir(), "gambling-domains.csv");
    if (existsSync(shared)) {
      // A list source (idempotent), imported now and then hourly by the worker (conditional: unchanged file
      // = not modified); its entries are deactivated only if every source that listed them drops them.
      const { source } = await ensureListSource(sql, OPERATOR, {
        name: "shared-gambling-domains",
        location: shared,
        format: "csv",
        license: "MIT (bigdargon/hostsVN, Sinfonietta/hostfiles)",
      });
      const [report] = (
        await importListSources(
          { sql, actor: OPERATOR, config, owner: `start-${process.pid}` },
          { names: [source.name] },
        )
      ).results;
      if (report?.status === "error") throw new Error(`list source ${source.name}: ${report.error}`);
      log(
        report?.status === "ok"
          ? `public list ${shared}: ${report.entries} entries (${report.diff?.inserted ?? 0} new, ${report.rejected} rejected) in ${(report.durationMs / 1000).toFixed(1)} s (list source ${source.name})`
          : `public list ${shared}: ${report?.entries ?? 0} entries, not modified (list source ${source.name})`,
      );
    } else log(`public list ${shared} not found: skipped`);

    const published = await publishBlocklist(sql, {
      privateKey: pair.privateKey,
      publicKey: pair.publicKey,
      actor: OPERATOR,
      onlyIfChanged: true,
    });
    log(
      published.published
        ? `blocklist: published version ${published.version} (${published.entryCount} entries, ${published.snapshotBytes} bytes, signed)`
        : `blocklist: version ${published.version} is current (${published.entryCount} entries, nothing changed)`,
    );
    worker = await startWorker({
      config,
      ownerUrl: db.url,
      log: createWorkerLogger({ level: config.logging.level, format: config.logging.format }),
    });
    log(`worker: running ${describeJobs(worker.jobs, config)}`);

    // The API logs JSON per request; on this console only warnings and errors (the URLs are printed below).
    const apiLog = createLogger(config.logging.level === "info" ? "warn" : config.logging.level);
    api = await startApiServer({ config, database: db, log: apiLog });
    const admin = await ensureDemoAdmin(sql, config.dataDir, createPasswordHasher());
    log(
      `api: ${api.url}/api/v1 (OpenAPI ${api.url}/api/v1/openapi.json, docs ${api.url}/api/v1/docs, health ${api.url}/api/health)`,
    );
    if (api.deviceUrl) log(`device api (mutual TLS): ${api.deviceUrl}`);
    log(
      `demo admin login: ${admin.email} / ${admin.password}  (${admin.created ? "created" : "existing"}; kept in ${join(config.dataDir, "demo-admin.json")}, mode 0600)`,
    );
    if (api.deviceUrl && !values["no-agent"]) {
      const device = new URL(api.deviceUrl);
      agent = await startDemoAgent({
        apiUrl: api.url,
        deviceBaseUrl: `${device.protocol}//${device.host}`,
        deviceCaCertPath: config.api.deviceTls.caCertPath,
        admin: { email: admin.email, password: admin.password },
        stateDir: demoAgentStateDir(config.dataDir),
        dnsPort: Number(process.env.BETBLOCKER_DEMO_DNS_PORT ?? 53530),
        // Forwarded (not blocked) names go here; blocked names never leave the agent.
        upstreams: (process.env.BETBLOCKER_DEMO_UPSTREAMS ?? "127.0.0.1:53").split(","),
      });
      log(`demo agent: enrolled, blocklist version ${agent.listVersion}, DNS on 127.0.0.1:${agent.port}`);
      log(`try: dig @127.0.0.1 -p ${agent.port} www.bet365.com   (NXDOMAIN: blocked by the demo agent)`);
    }
    log("try: npx betblocker blocklist check www.bet365.com");
  } catch (error) {
    process.stderr.write(`start failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await shutdown();
    return 1;
  }

  if (values.once) {
    await shutdown();
    return 0;
  }
  log("ready (Ctrl-C to stop)");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await shutdown();
  return 0;
}

process.exitCode = await start(process.argv.slice(2));
