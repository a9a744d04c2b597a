/**
 * Blocklist matcher benchmark: `npm run bench:matcher`.
 *
 * Builds a 1,000,000-entry list (every domain of ../shared/data/gambling-domains.csv plus deterministic
 * synthetic names), compiles and signs it, loads it back from disk, then compares lookups on the same
 * deterministic workload of DNS QNAMEs in wire form:
 *   ours      BlocklistMatcher.matchWire straight on the wire bytes;
 *   baseline  what a naive forwarder does: decode each label (latin1), join with '.', toLowerCase, then
 *             Set.has on the name and on each parent.
 * A second comparison on prebuilt strings (matchName vs the same Set walk) is printed too. Both
 * approaches must agree on every query (exit 1 otherwise). The LAST line is machine-readable:
 *   matcher entries=N bytes_per_domain=B lookups_per_s=L set_lookups_per_s=S build_ms=T load_ms=M
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { applyDelta, createDelta } from "@betblocker/common/blocklist/delta";
import {
  type BlocklistRules,
  compileBlocklist,
  compileHintsFrom,
  type DomainRule,
  loadBlocklist,
  sha256,
} from "@betblocker/common/blocklist/format";
import { BlocklistMatcher, isBlockedCode } from "@betblocker/common/blocklist/matcher";

const TARGET_ENTRIES = 1_000_000;
const QUERY_COUNT = 200_000;
const ROUNDS = 3;
const ROUND_MS = 1_500;
/** Upper bound on lookups per round, so a very fast machine still finishes promptly. */
const MAX_LOOKUPS_PER_ROUND = 50_000_000;
const CHURN = 10_000;
const CREATED_AT = Date.UTC(2025, 0, 1);

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dataDir = resolve(repoRoot, "../shared/data");

/** mulberry32: tiny deterministic PRNG, uniform in [0, 1). */
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

function readDataFile(name: string): string {
  const path = join(dataDir, name);
  if (!existsSync(path)) {
    console.error(`bench:matcher: missing data file ${path} (expected ../shared/data beside the repository)`);
    process.exit(1);
  }
  return readFileSync(path, "utf8");
}

const HOSTNAME = /^[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*$/;

function loadRealDomains(): DomainRule[] {
  const lines = readDataFile("gambling-domains.csv").split("\n");
  const rules: DomainRule[] = [];
  for (const line of lines.slice(1)) {
    const [domain, category] = line.trim().split(",");
    if (domain && category && domain.length <= 253 && HOSTNAME.test(domain)) rules.push({ domain, category });
  }
  return rules;
}

const SYNTHETIC_TLDS = [
  "com",
  "net",
  "org",
  "bet",
  "casino",
  "io",
  "xyz",
  "vip",
  "club",
  "top",
  "co.uk",
  "com.br",
];
const SYNTHETIC_CATEGORIES = ["casino", "sports_betting", "lottery", "poker", "bingo", "other"];
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomLabel(random: () => number, min: number, max: number): string {
  const length = min + Math.floor(random() * (max - min + 1));
  let label = "";
  for (let i = 0; i < length; i++) label += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return label;
}

function syntheticName(random: () => number): string {
  const tld = SYNTHETIC_TLDS[Math.floor(random() * SYNTHETIC_TLDS.length)]!;
  const sub = random() < 0.15 ? `${randomLabel(random, 2, 6)}.` : "";
  return `${sub}${randomLabel(random, 5, 14)}.${tld}`;
}

/** Real domains plus synthetic ones up to `target`, none equal to a popular (unlisted) name. */
function buildRules(target: number, popular: ReadonlySet<string>): DomainRule[] {
  const rules = loadRealDomains();
  const seen = new Set(rules.map((rule) => rule.domain));
  const random = makeRandom(0xb10c);
  while (rules.length < target) {
    const domain = syntheticName(random);
    if (seen.has(domain) || popular.has(domain)) continue;
    seen.add(domain);
    rules.push({
      domain,
      category: SYNTHETIC_CATEGORIES[Math.floor(random() * SYNTHETIC_CATEGORIES.length)]!,
    });
  }
  return rules;
}

/** ~2/3 of base names listed, ~1/3 popular unlisted; shapes: 40% bare, 40% www., 20% deeper. */
function buildQueries(rules: readonly DomainRule[], popular: readonly string[]): string[] {
  const random = makeRandom(0x9e37);
  const queries: string[] = [];
  for (let i = 0; i < QUERY_COUNT; i++) {
    const listed = random() < 2 / 3;
    const base = listed
      ? rules[Math.floor(random() * rules.length)]!.domain
      : popular[Math.floor(random() * popular.length)]!;
    const shape = random();
    let name = base;
    if (shape >= 0.4 && shape < 0.8) name = `www.${base}`;
    else if (shape >= 0.8) name = `${randomLabel(random, 1, 8)}.${random() < 0.5 ? "cdn." : ""}${base}`;
    if (name.length <= 253) queries.push(name);
  }
  return queries;
}

/** All queries as wire QNAMEs in one buffer, as a forwarder would receive them. */
function layOutWire(queries: readonly string[]): { buffer: Buffer; offsets: Int32Array } {
  const offsets = new Int32Array(queries.length);
  const total = queries.reduce((sum, name) => sum + name.length + 2, 0);
  const buffer = Buffer.alloc(total);
  let position = 0;
  queries.forEach((name, index) => {
    offsets[index] = position;
    for (const label of name.split(".")) {
      buffer[position++] = label.length;
      position += buffer.write(label, position, "latin1");
    }
    buffer[position++] = 0;
  });
  return { buffer, offsets };
}

/** Baseline: naive forwarder decode of a wire QNAME, then a Set suffix walk. */
function setBlockedWire(set: ReadonlySet<string>, buffer: Buffer, offset: number): boolean {
  const labels: string[] = [];
  let position = offset;
  for (;;) {
    const length = buffer[position]!;
    if (length === 0) break;
    labels.push(buffer.toString("latin1", position + 1, position + 1 + length));
    position += 1 + length;
  }
  return setBlockedName(set, labels.join(".").toLowerCase());
}

/** Baseline on strings: Set.has on the name, then on each parent. */
function setBlockedName(set: ReadonlySet<string>, name: string): boolean {
  let suffix = name;
  for (;;) {
    if (set.has(suffix)) return true;
    const dot = suffix.indexOf(".");
    if (dot < 0) return false;
    suffix = suffix.slice(dot + 1);
  }
}

/** Best-of-ROUNDS lookups per second; `lookup(i)` answers query i and returns 0/1 (summed, kept live). */
function measure(queryCount: number, lookup: (index: number) => number): number {
  let best = 0;
  let sink = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    let done = 0;
    let elapsed = 0;
    while (elapsed < ROUND_MS && done < MAX_LOOKUPS_PER_ROUND) {
      for (let i = 0; i < queryCount; i++) sink += lookup(i);
      done += queryCount;
      elapsed = performance.now() - start;
    }
    best = Math.max(best, (done / elapsed) * 1000);
  }
  if (sink < 0) console.log(sink);
  return best;
}

function timed<T>(work: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = work();
  return { value, ms: performance.now() - start };
}

function bestLoadMs(path: string, publicKey: KeyObject): number {
  let best = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 3; attempt++) {
    const { ms } = timed(() => loadBlocklist(readFileSync(path), publicKey));
    best = Math.min(best, ms);
  }
  return best;
}

function verifyAgreement(
  queries: readonly string[],
  ours: (i: number) => boolean,
  set: (i: number) => boolean,
): number {
  let blocked = 0;
  for (let i = 0; i < queries.length; i++) {
    const expected = set(i);
    if (ours(i) !== expected) {
      console.error(`bench:matcher: disagreement on ${queries[i]}: set says ${expected}`);
      process.exit(1);
    }
    if (expected) blocked++;
  }
  return blocked;
}

/** 1% churn: remove CHURN entries, add CHURN new ones; report delta size against the full file. */
function measureDelta(
  rules: BlocklistRules,
  file: Uint8Array,
  privateKey: KeyObject,
  publicKey: KeyObject,
): string {
  const random = makeRandom(0xde17a);
  const kept = rules.block.filter(() => random() >= CHURN / rules.block.length);
  const present = new Set(kept.map((rule) => rule.domain));
  const block = [...kept];
  while (block.length < rules.block.length) {
    const domain = `churn-${syntheticName(random)}`;
    if (!present.has(domain)) block.push({ domain, category: "casino" });
    present.add(domain);
  }
  const base = loadBlocklist(file, publicKey);
  const next = compileBlocklist({
    version: 2,
    createdAt: CREATED_AT + 86_400_000,
    prevHash: sha256(file),
    rules: { ...rules, block },
    privateKey,
    ...compileHintsFrom(base),
  });
  const { value: delta, ms: createMs } = timed(() => createDelta(file, next, privateKey));
  const { value: rebuilt, ms: applyMs } = timed(() => applyDelta(file, delta, publicKey));
  const identical = Buffer.from(rebuilt).equals(next);
  return (
    `delta removed=${rules.block.length - kept.length} added=${block.length - kept.length} bytes=${delta.length} ` +
    `percent_of_full=${((delta.length / next.length) * 100).toFixed(2)} create_ms=${createMs.toFixed(0)} ` +
    `apply_ms=${applyMs.toFixed(0)} identical=${identical}`
  );
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

function main(): void {
  const popularList = readDataFile("popular-domains.txt")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && HOSTNAME.test(line));
  const rulesList = buildRules(TARGET_ENTRIES, new Set(popularList));
  const rules: BlocklistRules = { block: rulesList, wildcard: [], allow: [], pattern: [] };
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");

  const { value: file, ms: buildMs } = timed(() =>
    compileBlocklist({ version: 1, createdAt: CREATED_AT, prevHash: null, rules, privateKey }),
  );
  const dir = mkdtempSync(join(tmpdir(), "bb-bench-"));
  const path = join(dir, "blocklist.bin");
  writeFileSync(path, file);
  const loadMs = bestLoadMs(path, publicKey);
  const matcher = new BlocklistMatcher(loadBlocklist(readFileSync(path), publicKey));
  rmSync(dir, { recursive: true, force: true });

  const domainSet = new Set(rulesList.map((rule) => rule.domain));
  const queries = buildQueries(rulesList, popularList);
  const { buffer, offsets } = layOutWire(queries);
  const blockedCount = verifyAgreement(
    queries,
    (i) => isBlockedCode(matcher.matchWire(buffer, offsets[i]!)),
    (i) => setBlockedWire(domainSet, buffer, offsets[i]!),
  );
  verifyAgreement(
    queries,
    (i) => isBlockedCode(matcher.matchName(queries[i]!)),
    (i) => setBlockedName(domainSet, queries[i]!),
  );

  const lookupsPerS = measure(queries.length, (i) =>
    isBlockedCode(matcher.matchWire(buffer, offsets[i]!)) ? 1 : 0,
  );
  const setLookupsPerS = measure(queries.length, (i) =>
    setBlockedWire(domainSet, buffer, offsets[i]!) ? 1 : 0,
  );
  const nameLookupsPerS = measure(queries.length, (i) =>
    isBlockedCode(matcher.matchName(queries[i]!)) ? 1 : 0,
  );
  const setNameLookupsPerS = measure(queries.length, (i) => (setBlockedName(domainSet, queries[i]!) ? 1 : 0));
  const deltaLine = measureDelta(rules, file, privateKey, publicKey);

  const memory = process.memoryUsage();
  const entries = rulesList.length;
  console.log(
    `workload queries=${queries.length} blocked=${blockedCount} unlisted=${queries.length - blockedCount} ` +
      `file_bytes=${file.length} agreement=ok`,
  );
  console.log(deltaLine);
  console.log(
    `memory rss_mib=${mib(memory.rss)} heap_used_mib=${mib(memory.heapUsed)} ` +
      `array_buffers_mib=${mib(memory.arrayBuffers)} (the Set baseline and query strings dominate the heap)`,
  );
  console.log(
    `string-input matchName_per_s=${nameLookupsPerS.toFixed(0)} set_walk_per_s=${setNameLookupsPerS.toFixed(0)} ` +
      `ratio=${(nameLookupsPerS / setNameLookupsPerS).toFixed(2)}`,
  );
  console.log(
    `matcher entries=${entries} bytes_per_domain=${(file.length / entries).toFixed(2)} ` +
      `lookups_per_s=${lookupsPerS.toFixed(0)} set_lookups_per_s=${setLookupsPerS.toFixed(0)} ` +
      `build_ms=${buildMs.toFixed(0)} load_ms=${loadMs.toFixed(1)}`,
  );
}

main();
