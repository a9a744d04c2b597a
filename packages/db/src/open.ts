/**
 * How every entry point (CLI, `npm start`, later the API and worker) gets its database: an external URL when
 * configured (DATABASE_URL); otherwise the project's embedded cluster, shared with a launcher that is already
 * running (e.g. `npm start`) or started here.
 */
import { join } from "node:path";
import { attachRunningPostgres, ensureDatabase, startEmbeddedPostgres } from "./launcher";

export const DEFAULT_DATABASE_NAME = "betblocker";

export interface DatabaseConnection {
  /** Owner URL (migrations, admin commands). Contains a secret: never log it unredacted. */
  url: string;
  mode: "external" | "embedded-started" | "embedded-attached";
  /** Stops the embedded cluster when this process started it; otherwise does nothing. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** External PostgreSQL URL; null or undefined selects the embedded cluster. */
  url?: string | null;
  /** Project data directory; the embedded cluster lives in `<dataDir>/db`. */
  dataDir: string;
  embeddedPort: number;
  log?: (line: string) => void;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseConnection> {
  if (options.url) return { url: options.url, mode: "external", close: async () => {} };
  const root = join(options.dataDir, "db");
  const attached = attachRunningPostgres(root);
  if (attached)
    return { url: attached.url(DEFAULT_DATABASE_NAME), mode: "embedded-attached", close: async () => {} };
  const cluster = await startEmbeddedPostgres({
    root,
    port: options.embeddedPort,
    ...(options.log ? { log: options.log } : {}),
  });
  try {
    await ensureDatabase(cluster.url("postgres"), DEFAULT_DATABASE_NAME);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return { url: cluster.url(DEFAULT_DATABASE_NAME), mode: "embedded-started", close: () => cluster.stop() };
}
