/**
 * One DNS exchange over TCP (RFC 1035 §4.2.2 two-byte length prefix, RFC 7766): connect, send,
 * read one response, close. Used for upstream retries after TC and for TCP clients. Resolves with
 * the response bytes, or null on connect error, timeout, early close or an oversized frame.
 */
import net from "node:net";

export function tcpExchange(
  host: string,
  port: number,
  message: Uint8Array,
  timeoutMs: number,
): Promise<Buffer | null> {
  return new Promise((resolve) => {
    let settled = false;
    let received: Buffer = Buffer.alloc(0);
    const socket = net.connect({ host, port });
    const finish = (result: Buffer | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.setNoDelay(true);
    socket.on("connect", () => {
      const frame = Buffer.allocUnsafe(message.length + 2);
      frame.writeUInt16BE(message.length, 0);
      frame.set(message, 2);
      socket.write(frame);
    });
    socket.on("data", (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length >= length + 2) finish(Buffer.from(received.subarray(2, 2 + length)));
    });
    socket.on("error", () => finish(null));
    socket.on("close", () => finish(null));
  });
}
