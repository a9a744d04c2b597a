/**
 * DNS forwarder fuzzer: `npm run fuzz:dns` [-- --packets N --seconds S --seed X].
 *
 * Starts the forwarder as its own process (tools/bench/dns-forwarder, the production code path)
 * over a small plain list, with a fake upstream on 127.0.0.1 that answers some names with malformed
 * responses (compression loops, garbage lengths, huge counts, truncation). Then sends at least
 * --packets (default 1,000,000) random and mutated queries over UDP, and some over TCP, bounded by
 * --seconds (default 120). Finally checks that the forwarder is still running and still answers
 * correctly: a listed name -> NXDOMAIN with EDE 15, an allowed name -> the upstream's address.
 * All traffic stays on 127.0.0.1. Last line (machine-readable):
 *   fuzz packets=N alive=yes|no correct_after=yes|no
 */
import { type ChildProcess, spawn } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import packet from "dns-packet";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const TARGET_PACKETS = option("packets", 1_000_000);
const MAX_SECONDS = option("seconds", 120);
const SEED = option("seed", Date.now() % 2 ** 31) >>> 0;
const TCP_SHARE = 0.02;

let state = SEED || 1;
function random(): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296;
}
const int = (n: number): number => Math.floor(random() * n);

// ---------------------------------------------------------------------------------------------------
// Fake upstream: normal answers, and malformed ones for names starting with "evil".

function malformedAnswer(request: Buffer): Buffer {
  const id = request.subarray(0, 2);
  const questionEnd = Math.min(request.length, 12 + 64);
  const header = Buffer.from([id[0] ?? 0, id[1] ?? 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const question = request.subarray(12, questionEnd);
  switch (int(6)) {
    case 0: // CNAME whose RDATA points at itself (compression loop)
      return Buffer.concat([
        header,
        question,
        Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12 + question.length + 12]),
      ]);
    case 1: // huge counts
      return Buffer.concat([
        Buffer.from([id[0] ?? 0, id[1] ?? 0, 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        question,
      ]);
    case 2: // RDLENGTH past the end
      return Buffer.concat([
        header,
        question,
        Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0xff, 0xf0, 1, 2]),
      ]);
    case 3: // truncated in the middle of a record
      return Buffer.concat([header, question, Buffer.from([0xc0, 12, 0, 1, 0])]);
    case 4: // forward pointer inside a CNAME target
      return Buffer.concat([
        header,
        question,
        Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4, 1, 0x61, 0xc3, 0xff]),
      ]);
    default: // random bytes behind a plausible header
      return Buffer.concat([header, Buffer.from(Array.from({ length: int(300) }, () => int(256)))]);
  }
}

function upstreamAnswer(message: Buffer): Buffer | null {
  let request: packet.DecodedPacket;
  try {
    request = packet.decode(message);
  } catch {
    return null;
  }
  const question = request.questions?.[0];
  if (!question) return null;
  if (question.name.startsWith("evil")) return malformedAnswer(message);
  return packet.encode({
    type: "response",
    id: request.id,
    flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE,
    questions: request.questions,
    answers:
      question.type === "A"
        ? [{ type: "A", name: question.name, ttl: 30, class: "IN", data: "192.0.2.1" }]
        : [],
  });
}

async function startUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((done) => udp.bind(0, "127.0.0.1", () => done()));
  const port = udp.address().port;
  udp.on("message", (message, rinfo) => {
    const answer = upstreamAnswer(message);
    if (answer) udp.send(answer, rinfo.port, rinfo.address);
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= buffered.readUInt16BE(0) + 2) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        const answer = upstreamAnswer(message);
        if (answer) {
          const frame = Buffer.alloc(answer.length + 2);
          frame.writeUInt16BE(answer.length, 0);
          answer.copy(frame, 2);
          socket.write(frame);
        }
      }
    });
  });
  await new Promise<void>((done) => tcp.listen(port, "127.0.0.1", () => done()));
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => udp.close(() => done()));
      await new Promise<void>((done) => tcp.close(() => done()));
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Packet generators

const NAMES = [
  "casino.example",
  "www.casino.example",
  "allowed.example",
  "evil-a.example",
  "evil.b.example",
  "dns.google",
  "use-application-dns.net",
  "a.b.c.d.e.f.example",
  "x",
];
const TYPES = ["A", "AAAA", "MX", "TXT", "SRV", "ANY", "CNAME", "NS"] as packet.RecordType[];

function validQuery(): Buffer {
  const name = NAMES[int(NAMES.length)]!.replace(/[a-z]/g, (c) => (random() < 0.2 ? c.toUpperCase() : c));
  const edns = random() < 0.5;
  return packet.encode({
    type: "query",
    id: int(65536),
    flags: packet.RECURSION_DESIRED,
    questions: [{ type: TYPES[int(TYPES.length)]!, name, class: "IN" }],
    additionals: edns
      ? [
          {
            type: "OPT",
            name: ".",
            udpPayloadSize: 512 + int(4000),
            flags: random() < 0.5 ? packet.DNSSEC_OK : 0,
            options: [],
          } as unknown as packet.Answer,
        ]
      : [],
  });
}

const SEEDS = Array.from({ length: 64 }, validQuery);

function header(qd: number, an: number, ns: number, ar: number, flags = 0x0100): number[] {
  return [
    int(256),
    int(256),
    flags >> 8,
    flags & 0xff,
    qd >> 8,
    qd & 0xff,
    an >> 8,
    an & 0xff,
    ns >> 8,
    ns & 0xff,
    ar >> 8,
    ar & 0xff,
  ];
}

function crafted(): Buffer {
  switch (int(10)) {
    case 0: // pointer loop in the question
      return Buffer.from([...header(1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1]);
    case 1: // two pointers pointing at each other
      return Buffer.from([...header(1, 0, 0, 0), 1, 0x61, 0xc0, 12, 0, 1, 0, 1]);
    case 2: // huge counts
      return Buffer.from([...header(0xffff, 0xffff, 0xffff, 0xffff), 3, 0x61, 0x62, 0x63, 0, 0, 1, 0, 1]);
    case 3: // label > 63
      return Buffer.from([
        ...header(1, 0, 0, 0),
        64 + int(191),
        ...Array.from({ length: 70 }, () => 0x61),
        0,
        0,
        1,
        0,
        1,
      ]);
    case 4: {
      // name > 255 octets
      const labels: number[] = [];
      for (let i = 0; i < 5; i++) labels.push(63, ...new Array(63).fill(0x61 + i));
      return Buffer.from([...header(1, 0, 0, 0), ...labels, 0, 0, 1, 0, 1]);
    }
    case 5: // qdcount 0 or 2
      return random() < 0.5
        ? Buffer.from(header(0, 0, 0, 0))
        : Buffer.from([...header(2, 0, 0, 0), 1, 0x61, 0, 0, 1, 0, 1, 1, 0x62, 0, 0, 1, 0, 1]);
    case 6: // OPT with bad option lengths / several OPTs / EDNS version 1
      return Buffer.from([
        ...header(1, 0, 0, 2),
        1,
        0x61,
        0,
        0,
        1,
        0,
        1,
        0,
        0,
        41,
        16,
        0,
        0,
        int(3),
        0,
        0,
        0,
        6,
        0,
        15,
        0,
        9,
        1,
        2,
        0,
        0,
        41,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
      ]);
    case 7: // response bit set / random opcode
      return Buffer.from([
        ...header(1, 0, 0, 0, random() < 0.5 ? 0x8180 : (int(16) << 11) | 0x0100),
        1,
        0x61,
        0,
        0,
        1,
        0,
        1,
      ]);
    case 8: // header only / shorter than a header
      return Buffer.from(header(1, 0, 0, 0).slice(0, int(13)));
    default: // a valid query for a name the upstream answers with garbage
      return packet.encode({
        type: "query",
        id: int(65536),
        flags: packet.RECURSION_DESIRED,
        questions: [{ type: "A", name: `evil${int(1000)}.example`, class: "IN" }],
      });
  }
}

function mutated(): Buffer {
  const seed = SEEDS[int(SEEDS.length)]!;
  const bytes = Buffer.from(seed);
  const kind = int(4);
  if (kind === 0) {
    for (let i = 0, n = 1 + int(8); i < n; i++) {
      const at = int(bytes.length);
      bytes[at] = bytes[at]! ^ (1 << int(8));
    }
    return bytes;
  }
  if (kind === 1) return bytes.subarray(0, int(bytes.length + 1));
  if (kind === 2) {
    for (let i = 0, n = 1 + int(4); i < n; i++) bytes[int(bytes.length)] = int(256);
    return bytes;
  }
  return Buffer.concat([bytes, Buffer.from(Array.from({ length: int(40) }, () => int(256)))]);
}

function nextPacket(): Buffer {
  const r = random();
  if (r < 0.25) return Buffer.from(Array.from({ length: int(520) }, () => int(256)));
  if (r < 0.65) return mutated();
  if (r < 0.9) return crafted();
  return validQuery();
}

// ---------------------------------------------------------------------------------------------------
// Forwarder process

async function startForwarder(
  listPath: string,
  upstreamPort: number,
): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(
    join(ROOT, "tools/bench/dns-forwarder"),
    ["--port", "0", "--upstream", `127.0.0.1:${upstreamPort}`, "--list", listPath],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const port = await new Promise<number>((done, fail) => {
    let output = "";
    const timer = setTimeout(() => fail(new Error("forwarder did not start in 30 s")), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const line = output.split("\n").find((text) => text.includes('"ready":true'));
      if (line) {
        clearTimeout(timer);
        done(JSON.parse(line).port as number);
      }
    });
    child.once("exit", (code) => fail(new Error(`forwarder exited with ${code}`)));
  });
  child.stdout!.resume();
  return { child, port };
}

function ask(
  port: number,
  name: string,
  edns: boolean,
): Promise<(packet.DecodedPacket & { rcode?: string }) | null> {
  return new Promise((done) => {
    const socket = dgram.createSocket("udp4");
    const timer = setTimeout(() => {
      socket.close();
      done(null);
    }, 2000);
    socket.on("message", (message) => {
      clearTimeout(timer);
      socket.close();
      try {
        done(packet.decode(message) as packet.DecodedPacket & { rcode?: string });
      } catch {
        done(null);
      }
    });
    socket.send(
      packet.encode({
        type: "query",
        id: 4242,
        flags: packet.RECURSION_DESIRED,
        questions: [{ type: "A", name, class: "IN" }],
        additionals: edns
          ? [
              {
                type: "OPT",
                name: ".",
                udpPayloadSize: 1232,
                flags: 0,
                options: [],
              } as unknown as packet.Answer,
            ]
          : [],
      }),
      port,
      "127.0.0.1",
    );
  });
}

function hasBlockedEde(answer: packet.DecodedPacket): boolean {
  return (answer.additionals ?? []).some(
    (record) =>
      record.type === "OPT" &&
      (record as unknown as { options: Array<{ code: number; data: Buffer }> }).options.some(
        (option) => option.code === 15 && option.data.readUInt16BE(0) === 15,
      ),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "dns-fuzz-"));
  const listPath = join(dir, "list.txt");
  writeFileSync(
    listPath,
    [
      "casino.example",
      "blocked.fuzz.example",
      ...Array.from({ length: 1000 }, (_, i) => `bet${i}.example`),
    ].join("\n"),
  );
  const upstream = await startUpstream();
  const { child, port } = await startForwarder(listPath, upstream.port);
  console.log(`fuzz: seed=${SEED} forwarder pid=${child.pid} port=${port} upstream=${upstream.port}`);
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });

  const sockets = Array.from({ length: 4 }, () => dgram.createSocket("udp4"));
  let received = 0;
  for (const socket of sockets) {
    socket.on("message", () => received++);
    await new Promise<void>((done) => socket.bind(0, "127.0.0.1", () => done()));
  }
  let tcpConnection: net.Socket | null = null;
  let tcpFrames = 0;
  const deadline = performance.now() + MAX_SECONDS * 1000;
  let sent = 0;
  let tcpSent = 0;
  while (sent < TARGET_PACKETS && performance.now() < deadline && !exited) {
    for (let burst = 0; burst < 256 && sent < TARGET_PACKETS; burst++) {
      const bytes = nextPacket();
      if (random() < TCP_SHARE) {
        if (tcpConnection === null || tcpConnection.destroyed || tcpFrames > 200) {
          tcpConnection?.destroy();
          tcpConnection = net.connect(port, "127.0.0.1");
          tcpConnection.on("error", () => {});
          tcpConnection.on("data", () => {});
          tcpFrames = 0;
        }
        // Mostly well-framed; sometimes a lying length prefix (the connection then stalls until idle close).
        const length = random() < 0.98 ? bytes.length : int(65536);
        const frame = Buffer.alloc(bytes.length + 2);
        frame.writeUInt16BE(length, 0);
        bytes.copy(frame, 2);
        tcpConnection.write(frame);
        tcpFrames++;
        tcpSent++;
      } else {
        sockets[int(sockets.length)]!.send(bytes, port, "127.0.0.1");
      }
      sent++;
    }
    // Let the event loop flush sends and read answers; keeps the offered load near what is served.
    await new Promise((done) => setImmediate(done));
    if ((sent & 0xffff) < 256) await new Promise((done) => setTimeout(done, 1));
  }
  tcpConnection?.destroy();
  await new Promise((done) => setTimeout(done, 500));
  const alive =
    !exited && child.exitCode === null && (await ask(port, "alive-check.example", false)) !== null;
  let correct = false;
  if (alive) {
    const blocked = await ask(port, "www.blocked.fuzz.example", true);
    const allowed = await ask(port, "allowed-after-fuzz.example", false);
    correct =
      blocked?.rcode === "NXDOMAIN" &&
      hasBlockedEde(blocked) &&
      allowed?.rcode === "NOERROR" &&
      (allowed.answers ?? []).some((record) => record.type === "A" && record.data === "192.0.2.1");
  }
  console.log(
    `fuzz: sent=${sent} (tcp ${tcpSent}) answers_received=${received} seconds=${((MAX_SECONDS * 1000 - (deadline - performance.now())) / 1000).toFixed(1)}`,
  );
  for (const socket of sockets) socket.close();
  if (!exited) child.kill("SIGTERM");
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`fuzz packets=${sent} alive=${alive ? "yes" : "no"} correct_after=${correct ? "yes" : "no"}`);
  process.exitCode = alive && correct ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(error);
  console.log("fuzz packets=0 alive=no correct_after=no");
  process.exitCode = 1;
});
