/**
 * The native UDP listener (packages/dns-native) over real sockets on 127.0.0.1 / ::1. Skipped when
 * the addon was not built here (the forwarder then runs on Node's UDP path, covered by server.test.ts).
 */
import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { DnsCounters, type DnsQuery, type DnsStage } from "./query";
import { DnsServer } from "./server";
import { decode, queryBytes, udpExchange } from "./testing";
import { NativeUdpListener } from "./udp-socket";
import { buildHeaderOnlyResponse, Rcode } from "./wire";

async function nativeAvailable(): Promise<boolean> {
  if (process.platform !== "linux") return false;
  try {
    const loaded = (await import("@betblocker/dns-native")) as {
      default?: { native: unknown };
      native?: unknown;
    };
    return (loaded.default?.native ?? loaded.native ?? null) !== null;
  } catch {
    return false;
  }
}

const available = await nativeAvailable();

/** Names starting with "blocked" are answered synchronously NXDOMAIN, the rest a little later REFUSED. */
class SplitStage implements DnsStage {
  resolve(query: DnsQuery): Uint8Array | null | Promise<Uint8Array | null> {
    const bytes = query.packet;
    if (bytes.length < 12) return null;
    const name = nameOf(query);
    if (name.startsWith("blocked")) return buildHeaderOnlyResponse(bytes, Rcode.NXDOMAIN);
    return new Promise((resolve) =>
      setTimeout(() => resolve(buildHeaderOnlyResponse(bytes, Rcode.REFUSED)), 5),
    );
  }
}

function nameOf(query: DnsQuery): string {
  try {
    return query.name();
  } catch {
    return "";
  }
}

/** Sends every query from one socket (large receive buffer) and collects answers by ID. */
function exchangeMany(
  port: number,
  queries: Uint8Array[],
  type: "udp4" | "udp6" = "udp4",
  timeoutMs = 5000,
): Promise<Map<number, Buffer>> {
  const host = type === "udp6" ? "::1" : "127.0.0.1";
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(type);
    const answers = new Map<number, Buffer>();
    const timer = setTimeout(() => {
      socket.close();
      resolve(answers);
    }, timeoutMs);
    socket.on("error", reject);
    socket.on("message", (message) => {
      answers.set(message.readUInt16BE(0), message);
      if (answers.size === queries.length) {
        clearTimeout(timer);
        socket.close();
        resolve(answers);
      }
    });
    socket.bind(0, host, () => {
      socket.setRecvBufferSize(4 << 20);
      for (const query of queries) socket.send(query, port, host);
    });
  });
}

describe.skipIf(!available)("native UDP listener", () => {
  let server: DnsServer | null = null;
  afterEach(async () => {
    await server?.stop();
    server = null;
  });

  async function start(address = "127.0.0.1", port = 0): Promise<DnsServer> {
    server = new DnsServer(new SplitStage(), new DnsCounters(), { address, port, tcp: false });
    await server.start();
    return server;
  }

  it("is the first choice, and answers synchronous and asynchronous queries", async () => {
    const s = await start();
    expect(s.udpPath).toBe("native");
    expect(decode(await udpExchange(s.port, queryBytes("blocked.example", { id: 7 }))).rcode).toBe(
      "NXDOMAIN",
    );
    const late = decode(await udpExchange(s.port, queryBytes("later.example", { id: 8 })));
    expect(late.rcode).toBe("REFUSED");
    expect(late.id).toBe(8);
  });

  it("answers many concurrent queries, mixed sync and async, each to its sender", async () => {
    const s = await start();
    const queries = Array.from({ length: 3000 }, (_, i) =>
      queryBytes(i % 2 === 0 ? `blocked${i}.example` : `later${i}.example`, { id: i }),
    );
    const answers = await exchangeMany(s.port, queries);
    expect(answers.size).toBe(queries.length);
    for (const [id, answer] of answers) {
      expect(decode(answer).rcode).toBe(id % 2 === 0 ? "NXDOMAIN" : "REFUSED");
    }
  });

  it("serves IPv6 on ::1", async () => {
    const s = await start("::1");
    expect(s.udpPath).toBe("native");
    const queries = Array.from({ length: 200 }, (_, i) => queryBytes(`blocked${i}.example`, { id: i }));
    const answers = await exchangeMany(s.port, queries, "udp6");
    expect(answers.size).toBe(200);
  });

  it("survives empty, short, garbage and oversized datagrams", async () => {
    const s = await start();
    const sender = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => sender.bind(0, "127.0.0.1", resolve));
    const junk = [
      Buffer.alloc(0),
      Buffer.alloc(1),
      Buffer.alloc(11, 0xff),
      Buffer.alloc(12, 0xff),
      Buffer.alloc(4096, 0xab),
      Buffer.alloc(4097, 0xab),
      Buffer.alloc(65_000, 0xcd),
    ];
    for (const datagram of junk) sender.send(datagram, s.port, "127.0.0.1");
    await new Promise((resolve) => setTimeout(resolve, 50));
    sender.close();
    expect(decode(await udpExchange(s.port, queryBytes("blocked.example"))).rcode).toBe("NXDOMAIN");
  });

  it("stops cleanly and starts again on the same port", async () => {
    const s = await start();
    const port = s.port;
    await s.stop();
    expect(s.udpPath).toBeNull();
    expect(await udpExchange(port, queryBytes("blocked.example"), 200)).toBeNull();
    await start("127.0.0.1", port);
    expect(decode(await udpExchange(port, queryBytes("blocked.example"))).rcode).toBe("NXDOMAIN");
  });

  it("reports a port in use as EADDRINUSE", async () => {
    const s = await start();
    const other = new DnsServer(new SplitStage(), new DnsCounters(), { port: s.port, tcp: false });
    await expect(other.start()).rejects.toMatchObject({ code: "EADDRINUSE" });
  });

  it("can be turned off: nativeUdp false uses the libuv fast path, fastPath false dgram", async () => {
    server = new DnsServer(new SplitStage(), new DnsCounters(), { port: 0, tcp: false, nativeUdp: false });
    await server.start();
    expect(server.udpPath).toBe("fast");
    expect(decode(await udpExchange(server.port, queryBytes("blocked.example"))).rcode).toBe("NXDOMAIN");
    await server.stop();
    server = new DnsServer(new SplitStage(), new DnsCounters(), { port: 0, tcp: false, fastPath: false });
    await server.start();
    expect(server.udpPath).toBe("dgram");
  });

  it("sends what was queued at close, ignores later sends, and calls nothing after close", async () => {
    let listener: NativeUdpListener | null = null;
    let calls = 0;
    listener = await NativeUdpListener.open({
      type: "udp4",
      address: "127.0.0.1",
      port: 0,
      onMessage: (message, peer) => {
        calls++;
        listener!.send(message, peer);
        void listener!.close();
        listener!.send(Buffer.from("late"), peer);
      },
    });
    expect(listener).not.toBeNull();
    const port = listener!.port;
    const echoed = await udpExchange(port, queryBytes("x.example", { id: 9 }));
    expect(echoed?.readUInt16BE(0)).toBe(9);
    expect(await udpExchange(port, queryBytes("y.example"), 200)).toBeNull();
    expect(calls).toBe(1);
    await listener!.close();
  });
});
