/**
 * Server-side configuration (CLI now; API and worker later): one zod schema, validated at boot.
 * Sources, later wins: defaults < TOML file (BETBLOCKER_CONFIG or --config) < environment variables.
 * Every violation is reported at once. Secrets (database password) are masked by `describeConfig`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { dataDir as defaultDataDir } from "@betblocker/db/paths";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";

const logLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace"]);

export const serverConfigSchema = z
  .object({
    /** Project state: embedded database, keys, published list files. Default: <repo>/.betblocker */
    data_dir: z.string().min(1).optional(),
    database: z
      .object({
        /** postgres:// URL. Unset: the embedded PostgreSQL under data_dir. (env DATABASE_URL) */
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL")
          .optional(),
        /** Port of the embedded cluster on 127.0.0.1. Default 54329. (env BETBLOCKER_PG_PORT) */
        embedded_port: z.number().int().min(1024).max(65535).default(54329),
      })
      .strict()
      .default({ embedded_port: 54329 }),
    blocklist: z
      .object({
        /** Ed25519 private key file (PKCS8 PEM, mode 0600). Never an env value. Default: <data_dir>/keys/blocklist-signing.key */
        signing_key_path: z.string().min(1).optional(),
        /** Deltas older than this are dropped; older agents get a full snapshot. Default 30. */
        delta_retention_days: z.number().int().min(1).max(3650).default(30),
      })
      .strict()
      .default({ delta_retention_days: 30 }),
    logging: z
      .object({
        level: logLevel.default("info"),
        format: z.enum(["json", "pretty"]).default("pretty"),
      })
      .strict()
      .default({ level: "info", format: "pretty" }),
  })
  .strict();

export interface ServerConfig {
  dataDir: string;
  database: { url: string | null; embeddedPort: number };
  blocklist: { signingKeyPath: string; publicKeyPath: string; deltaRetentionDays: number };
  logging: { level: z.infer<typeof logLevel>; format: "json" | "pretty" };
}

export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(readonly violations: string[]) {
    super(`invalid configuration:\n${violations.map((v) => `  - ${v}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Mutable = Record<string, unknown>;

function setPath(target: Mutable, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null) node[key] = {};
    node = node[key] as Mutable;
  }
  node[path[path.length - 1] as string] = value;
}

/** Environment variable -> config path and parser. BETBLOCKER_ prefix, plus the conventional DATABASE_URL. */
const ENV_MAP: Array<[string, string[], (v: string) => unknown]> = [
  ["BETBLOCKER_DATA_DIR", ["data_dir"], String],
  ["DATABASE_URL", ["database", "url"], String],
  ["BETBLOCKER_PG_PORT", ["database", "embedded_port"], Number],
  ["BETBLOCKER_SIGNING_KEY_PATH", ["blocklist", "signing_key_path"], String],
  ["BETBLOCKER_DELTA_RETENTION_DAYS", ["blocklist", "delta_retention_days"], Number],
  ["BETBLOCKER_LOG_LEVEL", ["logging", "level"], String],
  ["BETBLOCKER_LOG_FORMAT", ["logging", "format"], String],
];

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  /** TOML file; defaults to env BETBLOCKER_CONFIG. A named file that does not exist is an error. */
  file?: string;
}

export function loadServerConfig(options: LoadConfigOptions = {}): ServerConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.BETBLOCKER_CONFIG;
  let raw: Mutable = {};
  if (file) {
    if (!existsSync(file)) throw new ConfigError([`config file ${file} does not exist`]);
    try {
      raw = parseToml(readFileSync(file, "utf8")) as Mutable;
    } catch (error) {
      throw new ConfigError([
        `config file ${file} is not valid TOML: ${(error as Error).message.split("\n")[0]}`,
      ]);
    }
  }
  for (const [name, path, parse] of ENV_MAP) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, parse(value));
  }
  const parsed = serverConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`),
    );
  }
  const c = parsed.data;
  const dataDir = resolve(c.data_dir ?? defaultDataDir());
  const signingKeyPath = resolve(
    c.blocklist.signing_key_path ?? join(dataDir, "keys", "blocklist-signing.key"),
  );
  return {
    dataDir,
    database: { url: c.database.url ?? null, embeddedPort: c.database.embedded_port },
    blocklist: {
      signingKeyPath,
      publicKeyPath: `${signingKeyPath}.pub`,
      deltaRetentionDays: c.blocklist.delta_retention_days,
    },
    logging: c.logging,
  };
}

/** The configuration as it may be printed: database password masked. */
export function describeConfig(config: ServerConfig): Record<string, unknown> {
  let url: string | null = config.database.url;
  if (url) {
    try {
      const parsed = new URL(url);
      if (parsed.password) parsed.password = "***";
      url = parsed.toString();
    } catch {
      url = "<unparseable>";
    }
  }
  return { ...config, database: { ...config.database, url } };
}
