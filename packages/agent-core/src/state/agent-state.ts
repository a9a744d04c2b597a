/**
 * The agent's on-disk state: one JSON file (`state.json`) in the state directory, carrying a
 * `schema_version` and upgraded step by step (UPGRADES[n] turns version n into n+1), written atomically.
 * An unreadable file is quarantined and reported through `onCorrupt`; the agent then starts from the
 * empty state rather than crash-looping.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { quarantineFile, writeFileAtomic } from "./atomic-file";

export const STATE_SCHEMA_VERSION = 2;

export interface AgentStateData {
  schema_version: number;
  /** Public id from registration; null before registration. */
  device_id: string | null;
  /** Base URL of the device listener, e.g. "https://api.example:8443". */
  api_url: string | null;
  /** Blocklist version held on disk (0: none). */
  blocklist_version: number;
  /** Last AgentConfig received, as the JSONB halves (protection, reporting). */
  config: { protection: Record<string, unknown>; reporting: Record<string, unknown> } | null;
  /** ISO time of the last successful sync. */
  last_sync_at: string | null;
}

type Upgrade = (state: Record<string, unknown>) => Record<string, unknown>;

/** Numbered upgrade steps: UPGRADES[n] upgrades schema n to n+1. Never edit a shipped step; append. */
const UPGRADES: Readonly<Record<number, Upgrade>> = {
  // v1 stored the blocklist version as `list_version`.
  1: ({ list_version, ...rest }) => ({ ...rest, blocklist_version: list_version ?? 0, schema_version: 2 }),
};

export function emptyState(): AgentStateData {
  return {
    schema_version: STATE_SCHEMA_VERSION,
    device_id: null,
    api_url: null,
    blocklist_version: 0,
    config: null,
    last_sync_at: null,
  };
}

export function upgradeState(raw: Record<string, unknown>): AgentStateData {
  let state = raw;
  let version = typeof state.schema_version === "number" ? state.schema_version : 1;
  if (version > STATE_SCHEMA_VERSION) {
    throw new Error(`state schema_version ${version} is newer than this agent (${STATE_SCHEMA_VERSION})`);
  }
  while (version < STATE_SCHEMA_VERSION) {
    const step = UPGRADES[version];
    if (!step) throw new Error(`no upgrade step from state schema_version ${version}`);
    state = step(state);
    version += 1;
  }
  return { ...emptyState(), ...state, schema_version: STATE_SCHEMA_VERSION } as AgentStateData;
}

export interface CorruptFileReport {
  path: string;
  quarantinedTo: string;
  error: string;
}

/** Paths inside the state directory. */
export function statePaths(dir: string) {
  return {
    dir,
    state: join(dir, "state.json"),
    key: join(dir, "device.key"),
    cert: join(dir, "device.pem"),
    ca: join(dir, "ca.pem"),
    signingKey: join(dir, "blocklist-signing.pub"),
    blocklist: join(dir, "blocklist.bbl"),
    eventQueue: join(dir, "events.queue.json"),
  };
}

export class AgentStateStore {
  private current: AgentStateData;

  private constructor(
    readonly path: string,
    state: AgentStateData,
  ) {
    this.current = state;
  }

  /** Load (or create) the state file; a corrupt file is quarantined and reported, never thrown. */
  static open(dir: string, onCorrupt: (report: CorruptFileReport) => void = () => {}): AgentStateStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = statePaths(dir).state;
    if (!existsSync(path)) return new AgentStateStore(path, emptyState());
    try {
      const raw = JSON.parse(readFileSync(path, "utf8")) as unknown;
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error("not a JSON object");
      const store = new AgentStateStore(path, upgradeState(raw as Record<string, unknown>));
      store.save();
      return store;
    } catch (error) {
      const quarantinedTo = quarantineFile(path);
      onCorrupt({ path, quarantinedTo, error: (error as Error).message });
      return new AgentStateStore(path, emptyState());
    }
  }

  get state(): Readonly<AgentStateData> {
    return this.current;
  }

  update(change: Partial<Omit<AgentStateData, "schema_version">>): void {
    this.current = { ...this.current, ...change, schema_version: STATE_SCHEMA_VERSION };
    this.save();
  }

  private save(): void {
    writeFileAtomic(this.path, `${JSON.stringify(this.current, null, 2)}\n`, 0o600);
  }
}
