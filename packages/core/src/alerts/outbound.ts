/**
 * Outbound HTTP for webhooks that any signed-in account can point anywhere: without a guard, a hosted
 * platform would POST to its own loopback, private network or cloud metadata service on request (SSRF).
 *
 * The check runs at CONNECTION time, on every address the name resolves to (a custom `lookup` for
 * node:http), so a name that resolves to a public address when saved and to 127.0.0.1 later (DNS
 * rebinding) is still refused. IP literals are checked before connecting. Redirects are never followed.
 * Operator webhooks (configuration) and self-hosted setups that opt in may reach private addresses.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";

/** Special-purpose ranges (RFC 6890 and friends) a public webhook must not reach. */
const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  NON_PUBLIC.addSubnet(net, prefix, "ipv6");
}

/** True for an address a public webhook may reach. IPv4-mapped IPv6 is judged by its IPv4 part. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NON_PUBLIC.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped?.[1]) return !NON_PUBLIC.check(mapped[1], "ipv4");
    return !NON_PUBLIC.check(address, "ipv6");
  }
  return false;
}

export class OutboundRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutboundRefusedError";
  }
}

/** A `lookup` for node:http that refuses names resolving to any non-public address. */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, "", 0);
    const list = addresses as LookupAddress[];
    const refused = list.find((entry) => !isPublicAddress(entry.address));
    if (refused || list.length === 0) {
      return callback(
        new OutboundRefusedError(
          `${hostname} resolves to a non-public address (${refused?.address ?? "none"})`,
        ),
        "",
        0,
      );
    }
    if (options.all) return callback(null, list as unknown as string, 0);
    const first = list[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
};

export interface PostResult {
  status: number;
}

/**
 * POST `body` to `url` (http or https), no redirects followed, bounded by `timeoutMs`. With
 * `publicOnly`, refuses non-public destinations (see above). Throws on connection errors and refusals.
 */
export function postOutbound(
  url: string,
  init: { headers: Record<string, string>; body: string; timeoutMs: number; publicOnly: boolean },
): Promise<PostResult> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    return Promise.reject(new OutboundRefusedError(`unsupported scheme ${target.protocol}`));
  }
  const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
  if (init.publicOnly && isIP(host) !== 0 && !isPublicAddress(host)) {
    return Promise.reject(new OutboundRefusedError(`${host} is not a public address`));
  }
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: "POST",
        headers: { ...init.headers, "content-length": String(Buffer.byteLength(init.body)) },
        ...(init.publicOnly ? { lookup: publicOnlyLookup } : {}),
      },
      (response: IncomingMessage) => {
        response.resume(); // the body is not needed; drain it so the socket is freed
        response.on("end", () => resolve({ status: response.statusCode ?? 0 }));
        response.on("error", reject);
      },
    );
    const deadline = setTimeout(
      () => req.destroy(new Error(`no answer within ${init.timeoutMs} ms`)),
      init.timeoutMs,
    );
    req.on("close", () => clearTimeout(deadline));
    req.on("error", reject);
    req.end(init.body);
  });
}
