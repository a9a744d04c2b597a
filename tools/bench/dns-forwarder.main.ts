/**
 * Entry of `tools/bench/dns-forwarder` (bundled with esbuild, run by plain node for a fast start):
 * the agent's filtering forwarder over a PLAIN domain list compiled at start.
 *
 *   tools/bench/dns-forwarder --port 5307 --upstream 127.0.0.1:5300 --list block.txt
 *     [--address 127.0.0.1] [--no-fast-path] [--cache-entries N] [--no-native]
 *
 * Prints one JSON line when it answers ({"ready":true,...,"compiler":"native"|"js"}); SIGUSR1 prints the
 * counters; SIGTERM or SIGINT stops it. The list is compiled unsigned (plain-list.ts): for benchmarks
 * and local testing only, the agent itself loads signed lists. Every start compiles the list (1M names:
 * ~30 ms with the addon's compiler, ~100 ms without); nothing is cached between starts.
 */
import { startDnsForwarder } from "@betblocker/agent-core/dns/forwarder";
import { BlocklistMatcher } from "@betblocker/common/blocklist/matcher";
import {
  compilePlainListFile,
  type NativePlainListCompiler,
  type PlainListResult,
} from "@betblocker/common/blocklist/plain-list";
import * as dnsNative from "@betblocker/dns-native";

/**
 * The addon's list compiler (packages/dns-native, same output as the JavaScript one, ~3x faster), or
 * null when the addon was not built: then the JavaScript compiler runs. `--no-native` forces that.
 */
function nativeCompiler(): NativePlainListCompiler | null {
  if (process.argv.includes("--no-native")) return null;
  // A CommonJS module: Node puts module.exports on `default`, bundlers may flatten it.
  const { native } = (dnsNative as { default?: typeof dnsNative }).default ?? dnsNative;
  return native !== null && typeof native.compilePlainList === "function" ? native : null;
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
  const compiler = nativeCompiler();
  let entries = 0;
  let rejected = 0;
  let compiledMs = 0;
  // The sockets bind first; queries wait in the gate until this returns (never answered unfiltered).
  const loadList = (): BlocklistMatcher => {
    const loadStarted = performance.now();
    const cpuBefore = process.cpuUsage();
    const list: PlainListResult = compilePlainListFile(listPath, { native: compiler });
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
  // Return the JavaScript compiler's temporary key arrays to the OS before the load (node --expose-gc).
  setImmediate(() => (globalThis as { gc?: () => void }).gc?.());
  const memory = process.memoryUsage();
  console.log(
    JSON.stringify({
      ready: true,
      port: forwarder.port,
      entries,
      rejected,
      compileMs: Math.round(compiledMs),
      compiler: compiler !== null ? "native" : "js",
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
