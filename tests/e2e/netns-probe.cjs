#!/usr/bin/env node
// Tiny network probe the Linux shim's tests run inside their network namespaces (plain CommonJS so it
// starts without a TypeScript loader):
//   udp HOST PORT          send "ping", print the reply or "timeout" (1 s)
//   tcp HOST PORT          print "connected" or the error code (2 s)
//   serve-udp PORT TEXT    answer every datagram on 127.0.0.1:PORT with TEXT; print "ready"
//   serve-dns ADDR PORT IP a DNS server on ADDR:PORT (UDP and TCP): every A question gets IP (TTL 60),
//                          names under .invalid get NXDOMAIN; prints "ready"
//   relay PORT UNIXPATH    TCP on 127.0.0.1:PORT -> the unix socket UNIXPATH (reaches a listener in
//                          another network namespace through the file system); prints "ready"
"use strict";
const dgram = require("node:dgram");
const net = require("node:net");
const [mode, a, b] = process.argv.slice(2);
if (mode === "udp") {
  const socket = dgram.createSocket(a.includes(":") ? "udp6" : "udp4");
  const timer = setTimeout(() => {
    console.log("timeout");
    process.exit(0);
  }, 1000);
  socket.on("message", (msg) => {
    clearTimeout(timer);
    console.log(`reply ${msg.toString()}`);
    process.exit(0);
  });
  socket.on("error", (error) => {
    console.log(`error ${error.code}`);
    process.exit(0);
  });
  socket.send("ping", Number(b), a);
} else if (mode === "tcp") {
  const socket = net.connect({ host: a, port: Number(b), timeout: 2000 });
  socket.on("connect", () => {
    console.log("connected");
    process.exit(0);
  });
  socket.on("timeout", () => {
    console.log("timeout");
    process.exit(0);
  });
  socket.on("error", (error) => {
    console.log(`error ${error.code}`);
    process.exit(0);
  });
} else if (mode === "serve-udp") {
  const socket = dgram.createSocket("udp4");
  socket.on("message", (_msg, rinfo) => socket.send(b, rinfo.port, rinfo.address));
  socket.bind(Number(a), "127.0.0.1", () => console.log("ready"));
} else if (mode === "serve-dns") {
  const packet = require("dns-packet");
  const [addr, port, ip] = [a, Number(b), process.argv[5]];
  const answer = (query) => {
    const q = query.questions?.[0];
    const nx = !q || q.name.endsWith(".invalid");
    return packet.encode({
      id: query.id,
      type: "response",
      flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (nx ? 3 : 0),
      questions: query.questions,
      answers: !nx && q.type === "A" ? [{ type: "A", name: q.name, ttl: 60, data: ip }] : [],
    });
  };
  const udp = dgram.createSocket("udp4");
  udp.on("message", (msg, rinfo) => {
    try {
      udp.send(answer(packet.decode(msg)), rinfo.port, rinfo.address);
    } catch {}
  });
  const tcp = net.createServer((socket) => {
    let buffered = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        try {
          const reply = answer(packet.decode(buffered.subarray(2, 2 + length)));
          const framed = Buffer.alloc(2 + reply.length);
          framed.writeUInt16BE(reply.length, 0);
          reply.copy(framed, 2);
          socket.write(framed);
        } catch {}
        buffered = buffered.subarray(2 + length);
      }
    });
  });
  let pending = 2;
  const ready = () => --pending === 0 && console.log("ready");
  udp.bind(port, addr, ready);
  tcp.listen(port, addr, ready);
} else if (mode === "relay") {
  const server = net.createServer((client) => {
    const upstream = net.connect(b);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(Number(a), "127.0.0.1", () => console.log("ready"));
} else {
  console.error("usage: netns-probe udp|tcp|serve-udp ...");
  process.exit(2);
}
