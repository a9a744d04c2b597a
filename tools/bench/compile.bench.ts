/**
 * Blocklist compile benchmark: `npm run bench:compile`.
 *
 * On a real PostgreSQL (DATABASE_URL, else a throw-away embedded cluster with fsync ON, like production):
 * 1,000,000 blocklist entries (every domain of ../shared/data/gambling-domains.csv plus deterministic
 * synthetic names) loaded with COPY, version 1 published, then 1% churn (10,000 entries deactivated as a
 * list source would, 10,000 new ones added), and version 2 published through the production path
 * (publishBlocklist: read entries, compile, sign, verify, delta + proof, store version and entry mapping in
 * one transaction). The timed part is that v2 publish. The LAST line is machine-readable:
 *   compile entries=N ms=T delta_bytes=D full_bytes=F
 * Setup loads with session_replication_role = replica (no audit/updated_at triggers: 1M audit rows would only
 * slow the setup); the measured publish runs with every trigger on.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { publishBlocklist } from "@betblocker/core/blocklist/publish.service";
import { ensureSigningKeyPair } from "@betblocker/core/blocklist/signing-key";
import { createSql } from "@betblocker/db/client";
import { ensureDatabase, startEmbeddedPostgres } from "@betblocker/db/launcher";
import { migrate } from "@betblocker/db/migrate";
import { migrationsDir, sharedDataDir } from "@betblocker/db/paths";
import { freePort } from "@betblocker/db/testing/global-setup";

const TARGET = 1_000_000;
const CHURN = 10_000;
const OPERATOR = { accountId: null, role: "admin", ip: null } as const;

function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TLDS = ["com", "net", "org", "bet", "casino", "io", "xyz", "vip", "club", "top", "co.uk", "com.br"];
const CATEGORIES = ["casino", "sports_betting", "lottery", "poker", "bingo", "other"];
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const HOSTNAME = /^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$/;

function label(random: () => number, min: number, max: number): string {
  const length = min + Math.floor(random() * (max - min + 1));
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return out;
}

function synthetic(random: () => number): string {
  const tld = TLDS[Math.floor(random() * TLDS.length)] as string;
  const sub = random() < 0.15 ? `${label(random, 2, 6)}.` : "";
  return `${sub}${label(random, 5, 14)}.${tld}`;
}

/** `count` rows of "domain\tcategory", none in `seen` (which they are added to). */
function syntheticRows(count: number, seen: Set<string>, random: () => number): string[] {
  const rows: string[] = [];
  while (rows.length < count) {
    const domain = synthetic(random);
    if (seen.has(domain)) continue;
    seen.add(domain);
    rows.push(`${domain}\t${CATEGORIES[Math.floor(random() * CATEGORIES.length)]}`);
  }
  return rows;
}

async function copyRows(sql: ReturnType<typeof createSql>, rows: readonly string[]): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    const stream = await tx`copy blocklist_entries (domain, category) from stdin`.writable();
    const chunk = 20_000;
    for (let i = 0; i < rows.length; i += chunk) {
      const ok = stream.write(`${rows.slice(i, i + chunk).join("\n")}\n`);
      if (!ok) await new Promise((resolve) => stream.once("drain", resolve));
    }
    await new Promise<void>((resolve, reject) => {
      stream.once("finish", resolve);
      stream.once("error", reject);
      stream.end();
    });
  });
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), "bb-compile-bench-"));
  let stopCluster = async () => {};
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const cluster = await startEmbeddedPostgres({ root: join(work, "db"), port: await freePort() });
    serverUrl = cluster.url("postgres");
    stopCluster = () => cluster.stop();
  }
  const dbName = `bb_compile_bench_${process.pid}`;
  const url = new URL(serverUrl);
  url.pathname = `/${dbName}`;
  const admin = createSql(serverUrl, { max: 1 });
  const sql = createSql(url.toString(), { max: 4, applicationName: "bench-compile" });
  try {
    await ensureDatabase(serverUrl, dbName);
    await migrate(url.toString(), migrationsDir());
    const keys = ensureSigningKeyPair({
      signingKeyPath: join(work, "signing.key"),
      publicKeyPath: join(work, "signing.key.pub"),
    }).pair;

    const seen = new Set<string>();
    const rows: string[] = [];
    for (const line of readFileSync(join(sharedDataDir(), "gambling-domains.csv"), "utf8")
      .split("\n")
      .slice(1)) {
      const [domain, category] = line.trim().split(",");
      if (domain && category && domain.length <= 253 && HOSTNAME.test(domain) && !seen.has(domain)) {
        seen.add(domain);
        rows.push(`${domain}\t${category}`);
      }
    }
    const random = makeRandom(0xc0de);
    for (const row of syntheticRows(TARGET - rows.length, seen, random)) rows.push(row);
    let started = Date.now();
    await copyRows(sql, rows);
    // Steady state, as autovacuum leaves a table long before a publish: hint bits set, visibility map and
    // statistics current (a freshly bulk-loaded table would make the first reads rewrite every page).
    await sql`vacuum (analyze) blocklist_entries`;
    console.log(`setup: ${rows.length} entries loaded with COPY in ${Date.now() - started} ms`);

    const publish = () =>
      publishBlocklist(sql, {
        privateKey: keys.privateKey,
        publicKey: keys.publicKey,
        actor: OPERATOR,
      });
    started = Date.now();
    const v1 = await publish();
    console.log(
      `v1: ${v1.entryCount} entries, ${v1.snapshotBytes} bytes, publish ${Date.now() - started} ms (compile ${v1.compileMs} ms)`,
    );

    // 1% churn: 10k entries deactivated (dropped by their list sources), 10k new ones.
    await sql`update blocklist_entries set status = 'inactive'
              where id in (select id from blocklist_entries where status = 'active' order by md5(domain) limit ${CHURN})`;
    await copyRows(sql, syntheticRows(CHURN, seen, random));
    await sql`vacuum (analyze) blocklist_entries, blocklist_membership, blocklist_versions`;

    started = Date.now();
    const v2 = await publish();
    const ms = Date.now() - started;
    console.log(`v2: compile+sign+delta ${v2.compileMs} ms, store and the rest ${ms - v2.compileMs} ms`);
    if (!v2.published || v2.deltaBytes === null) throw new Error("v2 was not published with a delta");
    console.log(
      `compile entries=${v2.entryCount} ms=${ms} delta_bytes=${v2.deltaBytes} full_bytes=${v2.snapshotBytes}`,
    );
  } finally {
    await sql.end({ timeout: 5 });
    await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
    await admin.end({ timeout: 5 });
    await stopCluster();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
