/**
 * The Linux agent's config file (TOML, default /etc/betblocker/agent.toml). One schema, validated at
 * start: every violation is printed and the agent exits non-zero (a config it cannot read is never
 * replaced by silent defaults). `enroll` writes the file; the agent keeps a copy and its SHA-256 in the
 * state directory, and a change made outside the agent is a tamper event (and is undone).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isAbsolute } from "node:path";
import { parseUpstream } from "@betblocker/agent-core/dns/stages/upstream.stage";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { z } from "zod";

export const DEFAULT_CONFIG_PATH = "/etc/betblocker/agent.toml";
/**
 * Identity, list, queue and state. A command-line option (`--state-dir`), not a config field: an edited
 * config file must not be able to point the agent at an empty state (and so at no credentials to report with).
 */
export const DEFAULT_STATE_DIR = "/var/lib/betblocker-agent";

const absolutePath = z.string().refine(isAbsolute, "must be an absolute path");

const hostPort = z.string().refine((value) => {
  try {
    parseUpstream(value);
    return true;
  } catch {
    return false;
  }
}, 'must be "IP:PORT" or "[IPv6]:PORT"');

export const agentConfigSchema = z.strictObject({
  /** Device API base URL (mutual TLS), e.g. "https://api.example.org:8443". */
  api_url: z.url({ protocol: /^https$/ }).describe("device API base URL (https, mutual TLS)"),
  dns: z
    .strictObject({
      /** The agent's DNS listener; loopback only. Default 127.0.0.1:53. */
      listen: hostPort
        .refine((value) => {
          const { host } = parseUpstream(value);
          return host === "127.0.0.1" || host === "::1" || host.startsWith("127.");
        }, "must be a loopback address")
        .default("127.0.0.1:53"),
      /** Resolvers the agent forwards to, in failover order. Default: Quad9. */
      upstreams: z.array(hostPort).min(1).max(8).default(["9.9.9.9:53", "149.112.112.112:53"]),
    })
    .prefault({}),
  enforcement: z
    .strictObject({
      /**
       * System resolver takeover: "auto" (systemd-resolved when /etc/resolv.conf is its stub link,
       * else resolv.conf), "resolv.conf", "systemd-resolved", or "off" (report only).
       */
      resolver: z.enum(["auto", "resolv.conf", "systemd-resolved", "off"]).default("auto"),
      resolv_conf_path: absolutePath.default("/etc/resolv.conf"),
      resolved_dropin_path: absolutePath.default("/etc/systemd/resolved.conf.d/betblocker.conf"),
      /** nftables: redirect outgoing DNS (53) not from the agent to the agent; reject 853. Default on. */
      firewall: z.boolean().default(true),
      /** nftables table name (family inet). */
      firewall_table: z
        .string()
        .regex(/^[a-z][a-z0-9_]{0,31}$/)
        .default("betblocker"),
      hosts_path: absolutePath.default("/etc/hosts"),
      /** How often tamper and bypass checks run. Default 15 s (always below the heartbeat interval). */
      check_interval_seconds: z.number().int().min(1).max(300).default(15),
    })
    .prefault({}),
  sync: z
    .strictObject({
      interval_seconds: z.number().int().min(10).max(86_400).default(3600),
      event_flush_seconds: z.number().int().min(1).max(3600).default(30),
    })
    .prefault({}),
});

export type AgentConfig = z.infer<typeof agentConfigSchema>;

export class ConfigError extends Error {
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`${path}: invalid agent config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parse config text; throws ConfigError listing every violation. */
export function parseAgentConfig(text: string, path = "<config>"): AgentConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    throw new ConfigError(path, [`not valid TOML: ${(error as Error).message.split("\n")[0]}`]);
  }
  const parsed = agentConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      path,
      parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
    );
  }
  return parsed.data;
}

export function loadAgentConfig(path: string): { config: AgentConfig; text: string; sha256: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, [
      `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    ]);
  }
  return { config: parseAgentConfig(text, path), text, sha256: sha256Hex(text) };
}

/** The file `enroll` writes: only the fields given, every other one stays at its documented default. */
export function renderAgentConfig(fields: {
  api_url: string;
  dns?: { listen?: string; upstreams?: string[] };
  enforcement?: Partial<AgentConfig["enforcement"]>;
  sync?: Partial<AgentConfig["sync"]>;
}): string {
  const text = `# betblocker-agent configuration, written by \`betblocker-agent enroll\`.
# Changed outside the agent, it is restored and reported to the people supervising this device.
${stringifyToml(fields)}
`;
  parseAgentConfig(text); // never write a file the agent would refuse
  return text;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export function listenParts(config: AgentConfig): { address: string; port: number } {
  const { host, port } = parseUpstream(config.dns.listen);
  if (isIP(host) === 0) throw new Error(`dns.listen ${config.dns.listen}: not an IP`);
  return { address: host, port };
}
