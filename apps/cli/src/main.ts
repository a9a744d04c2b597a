/**
 * `betblocker`: the operator's admin CLI. Thin: parses arguments, loads the configuration, opens the database
 * and calls services from @betblocker/core (the same ones the API and worker use).
 * Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadServerConfig, type ServerConfig } from "@betblocker/core/config/config";
import { type DatabaseConnection, openDatabase } from "@betblocker/db/open";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type Output, stdio, UsageError } from "./cli-io";
import { alertsCommand } from "./commands/alerts.command";
import { allowlistCommand } from "./commands/allowlist.command";
import { blocklistCommand } from "./commands/blocklist.command";
import { healthCommand } from "./commands/health.command";
import { keysCommand } from "./commands/keys.command";
import { migrateCommand } from "./commands/migrate.command";
import { sourcesCommand } from "./commands/sources.command";

export interface CommandContext {
  config: ServerConfig;
  io: Output;
  /** Draw progress bars (only when writing to the real terminal streams). */
  progress: boolean;
  /** Opens the database on first use; closed by main() when the command ends. */
  database(): Promise<DatabaseConnection>;
}

export type Command = (args: string[], ctx: CommandContext) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  migrate: {
    run: migrateCommand,
    summary: "migrate [--status]                 apply pending database migrations",
  },
  keys: {
    run: keysCommand,
    summary: "keys generate [--out PATH]          create the Ed25519 blocklist signing key",
  },
  blocklist: {
    run: blocklistCommand,
    summary: `blocklist import <path|url> --format csv|domains|hosts|adblock [--category C] [--source S]
  blocklist export [--format domains|csv] [--output FILE]
  blocklist publish                   compile and sign a new version and its delta
  blocklist check <domain> | --file F [--json] [--discovery]`,
  },
  allowlist: { run: allowlistCommand, summary: "allowlist import <path> | add <domain> [--reason R] | list" },
  sources: {
    run: sourcesCommand,
    summary: `sources add <name> <url|path> --format csv|domains|hosts|adblock [--license L] [--category C] [--disabled]
  sources list [--json] | enable <name> | disable <name> | remove <name>
  sources fetch [name]                import list sources now (the worker does it hourly)`,
  },
  alerts: {
    run: alertsCommand,
    summary: "alerts list [--dead] [--limit N] [--json] | retry-dead   the alert outbox and its dead letters",
  },
  health: {
    run: healthCommand,
    summary: "health [--json]                     check database, migrations, key and list",
  },
};

export const USAGE = `usage: betblocker [--config FILE] <command> [options]

commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.summary}`)
  .join("\n")}

Configuration: --config FILE or BETBLOCKER_CONFIG (TOML), then environment variables (DATABASE_URL,
BETBLOCKER_DATA_DIR, BETBLOCKER_SIGNING_KEY_PATH, ...). Without DATABASE_URL the embedded PostgreSQL is used.`;

export async function main(argv: string[], io: Output = stdio): Promise<number> {
  let configFile: string | undefined;
  let rest = argv;
  try {
    const global = parseArgs({
      args: argv,
      options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    // Only options before the command name are global.
    const firstPositional = global.tokens.find((t) => t.kind === "positional");
    const commandIndex = firstPositional?.index ?? argv.length;
    const globalArgs = argv.slice(0, commandIndex);
    const parsedGlobal = parseArgs({
      args: globalArgs,
      options: { config: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
    });
    configFile = parsedGlobal.values.config;
    rest = argv.slice(commandIndex);
    if (parsedGlobal.values.help || rest.length === 0 || rest[0] === "help") {
      io.out(USAGE);
      return rest.length === 0 && !parsedGlobal.values.help ? EXIT_USAGE : EXIT_OK;
    }
  } catch (error) {
    io.err(`betblocker: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  const [name, ...args] = rest;
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`betblocker: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  let config: ServerConfig;
  try {
    config = loadServerConfig(configFile ? { file: configFile } : {});
  } catch (error) {
    io.err(error instanceof ConfigError ? error.message : `betblocker: ${(error as Error).message}`);
    return EXIT_FAILURE;
  }

  let connection: DatabaseConnection | null = null;
  const ctx: CommandContext = {
    config,
    io,
    progress: io === stdio,
    async database() {
      connection ??= await openDatabase({
        url: config.database.url,
        dataDir: config.dataDir,
        embeddedPort: config.database.embeddedPort,
      });
      return connection;
    },
  };
  try {
    return await command.run(args, ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`betblocker ${name}: ${error.message}`);
      return EXIT_USAGE;
    }
    if (
      error instanceof Error &&
      error.name === "TypeError" &&
      "code" in error &&
      String(error.code).startsWith("ERR_PARSE_ARGS")
    ) {
      io.err(`betblocker ${name}: ${error.message}`);
      return EXIT_USAGE;
    }
    io.err(`betblocker ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILURE;
  } finally {
    await (connection as DatabaseConnection | null)?.close();
  }
}
