/**
 * Entry of `tools/bench/dns-forwarder` (bundled with esbuild, run by plain node for a fast start):
 * the agent's filtering forwarder over a PLAIN domain list compiled at start.
 *
 *   tools/bench/dns-forwarder --port 5307 --upstream 127.0.0.1:5300 --list block.txt
 *     [--address 127.0.0.1] [--no-fast-path] [--cache-entries N] [--no-list-cache]
 *
 * Prints one JSON line when it answers ({"ready":true,...,"listCache":"hit"|"miss"|"off"}); SIGUSR1
 * prints the counters; SIGTERM or SIGINT stops it. The list is compiled unsigned (plain-list.ts): for
 * benchmarks and local testing only, the agent itself loads signed lists.
 *
 * Compiled-list cache: after the first start with a list (a "miss": the list is compiled, ~140 ms for
 * 1M lines), the compiled tables are written to `<list>.bbcache` once the forwarder is serving. A later
 * start with the same list file (same size, mtime and SHA-256) loads them instead of compiling (a
 * "hit"), the way the agent loads its binary list from disk. `--no-list-cache` neither reads nor writes
 * it. The cache is not signed: like the plain list itself, it is for benchmarks and local tests only.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  type Stats,
  statSync,
  writeSync,
} from "node:fs";
import { startDnsForwarder } from "@betblocker/agent-core/dns/forwarder";
import { BlocklistMatcher } from "@betblocker/common/blocklist/matcher";
import {
  compilePlainListFile,
  type PlainListResult,
  plainListContent,
} from "@betblocker/common/blocklist/plain-list";

const CACHE_MAGIC = "BBPLC1";
/** Bumped when the layout below or the plain-list compiler's output changes. */
const CACHE_VERSION = 1;

interface CacheHeader {
  readonly magic: string;
  readonly version: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  readonly littleEndian: boolean;
  readonly seed: number;
  readonly entries: number;
  readonly rejected: number;
  readonly bucketBits: number;
  readonly category: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function cachePathOf(listPath: string): string {
  return `${listPath}.bbcache`;
}

/** SHA-256 of a file, read in 1 MiB chunks into one buffer (no whole-file copy). */
function sha256OfFile(path: string): string {
  const hash = createHash("sha256");
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      hash.update(chunk.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/** Tables from `<list>.bbcache` when it was made from this exact list file, else null. */
function loadCachedList(listPath: string, stat: Stats): PlainListResult | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cachePathOf(listPath));
  } catch {
    return null;
  }
  if (bytes.length < 8) return null;
  const headerLength = bytes.readUInt32LE(0);
  if (8 + headerLength > bytes.length) return null;
  let header: CacheHeader;
  try {
    header = JSON.parse(bytes.toString("utf8", 8, 8 + headerLength)) as CacheHeader;
  } catch {
    return null;
  }
  if (
    header.magic !== CACHE_MAGIC ||
    header.version !== CACHE_VERSION ||
    header.littleEndian !== LITTLE_ENDIAN ||
    header.size !== stat.size ||
    header.mtimeMs !== stat.mtimeMs
  ) {
    return null;
  }
  const bucketCount = 2 ** header.bucketBits;
  const tablesStart = 8 + headerLength + ((8 - (headerLength % 8)) % 8);
  if (bytes.length !== tablesStart + (bucketCount + 1 + header.entries) * 4) return null;
  // Size and mtime match: the content must too (a list edited within the mtime granularity).
  if (sha256OfFile(listPath) !== header.sha256) return null;
  const view = (start: number, length: number): Uint32Array =>
    (bytes.byteOffset + start) % 4 === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset + start, length)
      : new Uint32Array(bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length * 4));
  const offsets = view(tablesStart, bucketCount + 1);
  const fingerprints = view(tablesStart + (bucketCount + 1) * 4, header.entries);
  if (offsets[bucketCount] !== header.entries) return null;
  const meta = new Uint8Array(header.entries).fill(header.category);
  const table = { bucketBits: header.bucketBits, offsets, fingerprints, meta };
  return {
    content: plainListContent(table, header.entries, header.seed),
    entries: header.entries,
    rejected: header.rejected,
  };
}

/**
 * Write `<list>.bbcache` for a list compiled from the file as it was at `stat` (skipped when the file
 * changed meanwhile or the folder is not writable: the cache is an optimization only).
 */
function writeCachedList(listPath: string, stat: Stats, list: PlainListResult): void {
  try {
    const sha256 = sha256OfFile(listPath);
    const after = statSync(listPath);
    if (after.size !== stat.size || after.mtimeMs !== stat.mtimeMs) return;
    const block = list.content.tables.block;
    const header: CacheHeader = {
      magic: CACHE_MAGIC,
      version: CACHE_VERSION,
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      sha256,
      littleEndian: LITTLE_ENDIAN,
      seed: list.content.header.seed,
      entries: list.entries,
      rejected: list.rejected,
      bucketBits: block.bucketBits,
      category: block.meta[0] ?? 0,
    };
    const json = Buffer.from(JSON.stringify(header), "utf8");
    const prefix = Buffer.alloc(8 + json.length + ((8 - (json.length % 8)) % 8));
    prefix.writeUInt32LE(json.length, 0);
    json.copy(prefix, 8);
    const path = cachePathOf(listPath);
    const temporary = `${path}.tmp.${process.pid}`;
    const fd = openSync(temporary, "w");
    try {
      for (const part of [prefix, block.offsets, block.fingerprints]) {
        const bytes = new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch {
    // Not writable, or the list vanished: the next start compiles again.
  }
}

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpuAtMain = process.cpuUsage();
  const port = Number(argument("port") ?? 5307);
  const upstream = argument("upstream") ?? "127.0.0.1:53";
  const listPath = argument("list");
  if (listPath === undefined) throw new Error("--list FILE is required");
  const cacheEntries = argument("cache-entries");
  const useListCache = !process.argv.includes("--no-list-cache");
  let entries = 0;
  let rejected = 0;
  let compiledMs = 0;
  let listCache: "hit" | "miss" | "off" = "off";
  let toCache: { stat: Stats; list: PlainListResult } | null = null;
  // The sockets bind first; queries wait in the gate until this returns (never answered unfiltered).
  const loadList = (): BlocklistMatcher => {
    const loadStarted = performance.now();
    const cpuBefore = process.cpuUsage();
    let list: PlainListResult | null = null;
    if (useListCache) {
      const stat = statSync(listPath);
      list = loadCachedList(listPath, stat);
      listCache = list !== null ? "hit" : "miss";
      if (list === null) {
        list = compilePlainListFile(listPath);
        toCache = { stat, list };
      }
    } else {
      list = compilePlainListFile(listPath);
    }
    entries = list.entries;
    rejected = list.rejected;
    compiledMs = performance.now() - started;
    // Timeline from process start (performance.timeOrigin), for start-up tuning.
    if (process.env.BB_DEBUG_START) {
      const ms = (value: number): number => Math.round(value);
      const cpu = process.cpuUsage(cpuBefore);
      const total = process.cpuUsage();
      console.error(
        `start-up (ms after process start): main ${ms(started)}, list load ${ms(loadStarted)}..${ms(performance.now())}; ` +
          `cpu ms: before main ${ms((cpuAtMain.user + cpuAtMain.system) / 1000)}, load ${ms((cpu.user + cpu.system) / 1000)}, ` +
          `total ${ms((total.user + total.system) / 1000)}`,
      );
    }
    return new BlocklistMatcher(list.content);
  };
  const forwarder = await startDnsForwarder({
    matcher: loadList,
    upstreams: [upstream],
    listen: { address: argument("address") ?? "127.0.0.1", port },
    fastPath: !process.argv.includes("--no-fast-path"),
    cache: cacheEntries !== undefined ? { maxEntries: Number(cacheEntries) } : undefined,
  });
  // Return the compiler's temporary key arrays to the OS before the load (node --expose-gc); only
  // then write the compiled-list cache (off the start-up path, in small chunks) and collect again.
  setImmediate(() => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const pending = toCache as { stat: Stats; list: PlainListResult } | null;
    if (pending === null) return;
    toCache = null;
    writeCachedList(listPath, pending.stat, pending.list);
    gc?.();
  });
  const memory = process.memoryUsage();
  console.log(
    JSON.stringify({
      ready: true,
      port: forwarder.port,
      entries,
      rejected,
      compileMs: Math.round(compiledMs),
      listCache,
      readyMs: Math.round(performance.now() - started),
      rssMB: +(memory.rss / 1048576).toFixed(1),
    }),
  );
  process.on("SIGUSR1", () =>
    console.log(JSON.stringify({ counters: forwarder.counters.snapshot(), cache: forwarder.cacheStats() })),
  );
  const stop = (): void => {
    void forwarder.stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
