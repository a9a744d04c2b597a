/**
 * Cross-process watchdog. The supervisor (`runSupervisor`) runs the agent as its child over an IPC
 * channel and expects `{ type: "alive" }` pings. A child that is killed, exits on its own or stops
 * pinging (then it is SIGKILLed) is an incident: one JSON line is appended (and fsynced) to the
 * journal, and the child is restarted with exponential backoff. The restarted child reads the
 * journal with `takeJournal` and records one PROCESS_KILLED tamper event per entry; the supervisor
 * itself never talks to the network.
 *
 * The child (`WatchdogClient`) pings, and notices the IPC channel closing: its supervisor was killed.
 *
 * Exit contract of the child: 0 after a SIGTERM from the supervisor (a stop, not an incident);
 * `EXIT_STOPPED_ON_PURPOSE` (64) after an authorized uninstall/stop: the supervisor ends without a
 * journal entry and without a restart. Any other exit is an incident.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

/** Child exit code: stopped on purpose (authorized), do not restart; the supervisor ends too. */
export const EXIT_STOPPED_ON_PURPOSE = 64;

export type JournalKind = "process_killed" | "process_hung" | "process_exited";

export interface JournalEntry {
  /** Unix ms. */
  at: number;
  kind: JournalKind;
  /** "SIGKILL"...; null when the child exited by itself. */
  signal: string | null;
  code: number | null;
  pid: number | null;
}

export interface SupervisorOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  journalPath: string;
  /** Kill (SIGKILL) and restart a child that has not pinged for this long. */
  pingTimeoutMs: number;
  restartBackoffMs: { min: number; max: number };
  log: (message: string) => void;
  /** Running this long resets the backoff to `min` (default 60 s). */
  healthyAfterMs?: number;
  /** How long a stop waits for the child after SIGTERM before SIGKILL (default 10 s). */
  stopTimeoutMs?: number;
  /** Stop on SIGTERM / SIGINT to this process (default true; tests running in-process turn it off). */
  handleSignals?: boolean;
  /** Each child started (for logs, status and tests). */
  onSpawn?: (pid: number) => void;
}

export interface Supervisor {
  /** PID of the running child, if one is running. */
  readonly childPid: number | null;
  /** Resolves with the supervisor's exit code (0) once it has ended: stopped, or child exited 64. */
  readonly done: Promise<number>;
  /** Same as SIGTERM: SIGTERM the child, wait for it (bounded, then SIGKILL), resolve `done`. */
  stop(): Promise<number>;
}

const ALIVE = "alive";

/**
 * Start supervising. The caller exits with the result: `process.exit(await runSupervisor(o).done)`.
 * Signal handlers are installed for SIGTERM and SIGINT unless `handleSignals` is false.
 */
export function runSupervisor(options: SupervisorOptions): Supervisor {
  const healthyAfterMs = options.healthyAfterMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const { min, max } = options.restartBackoffMs;
  let child: ChildProcess | null = null;
  let stopping = false;
  let ended = false;
  let backoffMs = min;
  let restartTimer: NodeJS.Timeout | null = null;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });

  const onSignal = (signal: NodeJS.Signals) => {
    options.log(`supervisor received ${signal}: stopping the agent`);
    void stop();
  };
  if (options.handleSignals ?? true) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }

  function end(): void {
    if (ended) return;
    ended = true;
    if (restartTimer) clearTimeout(restartTimer);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    resolveDone(0);
  }

  function start(): void {
    restartTimer = null;
    if (stopping) {
      end();
      return;
    }
    const startedAt = Date.now();
    let lastPing = startedAt;
    let hung = false;
    let exited = false;
    const current = spawn(options.command, options.args, {
      env: options.env ?? process.env,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    child = current;
    const pid = current.pid ?? null;
    if (pid !== null) options.onSpawn?.(pid);

    current.on("message", (message: unknown) => {
      if (typeof message === "object" && message !== null && (message as { type?: unknown }).type === ALIVE) {
        lastPing = Date.now();
      }
    });
    // Poll often enough to notice a hang within ~1.25 x pingTimeoutMs.
    const pingCheck = setInterval(
      () => {
        if (exited || hung || stopping) return;
        if (Date.now() - lastPing > options.pingTimeoutMs) {
          hung = true;
          options.log(`agent ${pid} sent no ping for ${options.pingTimeoutMs} ms: killing it`);
          current.kill("SIGKILL");
        }
      },
      Math.max(10, Math.min(1000, Math.floor(options.pingTimeoutMs / 4))),
    );

    const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exited) return;
      exited = true;
      clearInterval(pingCheck);
      if (child === current) child = null;
      if (stopping) {
        options.log(`agent ${pid} stopped (${signal ?? `code ${code}`})`);
        end();
        return;
      }
      if (code === EXIT_STOPPED_ON_PURPOSE) {
        options.log(`agent ${pid} stopped on purpose (exit ${code}): supervisor ends`);
        end();
        return;
      }
      const kind: JournalKind = hung ? "process_hung" : signal ? "process_killed" : "process_exited";
      // A child that never started (spawn failed) was not killed: retried, not journaled.
      if (pid !== null) {
        const entry: JournalEntry = { at: Date.now(), kind, signal: hung ? "SIGKILL" : signal, code, pid };
        try {
          appendJournal(options.journalPath, entry);
        } catch (error) {
          options.log(`could not write the watchdog journal: ${(error as Error).message}`);
        }
      }
      if (Date.now() - startedAt >= healthyAfterMs) backoffMs = min;
      const delay = backoffMs;
      backoffMs = Math.min(max, Math.max(1, backoffMs * 2));
      options.log(
        `agent ${pid} ${kind.replace("process_", "")} (${signal ?? `code ${code}`}); restarting in ${delay} ms`,
      );
      restartTimer = setTimeout(start, delay);
    };
    current.on("exit", onGone);
    // A spawn failure (ENOENT, EACCES) may emit only "error": treat it as an exit so we retry.
    current.on("error", (error) => {
      options.log(`agent process error: ${error.message}`);
      if (current.pid === undefined) onGone(null, null);
    });
  }

  async function stop(): Promise<number> {
    if (!stopping) {
      stopping = true;
      if (restartTimer) {
        clearTimeout(restartTimer);
        restartTimer = null;
      }
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) {
        end();
      } else {
        running.kill("SIGTERM");
        const force = setTimeout(() => {
          options.log(`agent ${running.pid} did not stop within ${stopTimeoutMs} ms: SIGKILL`);
          running.kill("SIGKILL");
        }, stopTimeoutMs);
        void done.then(() => clearTimeout(force));
      }
    }
    return done;
  }

  start();
  return {
    get childPid() {
      return child?.pid ?? null;
    },
    done,
    stop,
  };
}

/** Append one entry and fsync it: the entry must survive the power cut that may follow a kill. */
export function appendJournal(path: string, entry: JournalEntry): void {
  const fd = openSync(path, "a", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(entry)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const KINDS = new Set<string>(["process_killed", "process_hung", "process_exited"]);

/**
 * Read and clear the journal. The file is first renamed aside (atomic), so an entry the supervisor
 * appends meanwhile lands in a new journal, not in the one being cleared. Leftovers of a take that
 * crashed before deleting are read too. Unparsable lines (a torn last line after a crash) are skipped.
 */
export function takeJournal(journalPath: string): JournalEntry[] {
  const dir = dirname(journalPath);
  const prefix = `${basename(journalPath)}.taking-`;
  try {
    renameSync(journalPath, join(dir, `${prefix}${Date.now()}-${process.pid}`));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.startsWith(prefix));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const entries: JournalEntry[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    entries.push(...parseJournal(readFileSync(path, "utf8")));
    unlinkSync(path);
  }
  return entries.sort((a, b) => a.at - b.at);
}

export function parseJournal(text: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    const entry = value as Partial<JournalEntry> | null;
    if (
      !entry ||
      typeof entry !== "object" ||
      typeof entry.at !== "number" ||
      !KINDS.has(String(entry.kind))
    ) {
      continue;
    }
    entries.push({
      at: entry.at,
      kind: entry.kind as JournalKind,
      signal: typeof entry.signal === "string" ? entry.signal : null,
      code: typeof entry.code === "number" ? entry.code : null,
      pid: typeof entry.pid === "number" ? entry.pid : null,
    });
  }
  return entries;
}

/** The process side of the IPC channel (`process` in the child). */
export interface IpcProcess {
  send?: (message: unknown, callback?: (error: Error | null) => void) => boolean;
  connected?: boolean;
  on(event: "disconnect", listener: () => void): unknown;
  off(event: "disconnect", listener: () => void): unknown;
}

/**
 * Child side: pings the supervisor and notices its loss. Without an IPC channel (not started by a
 * supervisor) `start` does nothing and returns false.
 */
export class WatchdogClient {
  private timer: NodeJS.Timeout | null = null;
  private readonly lostCallbacks: (() => void)[] = [];
  private stopped = false;
  private readonly onDisconnect = () => {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.stopped) return;
    for (const callback of this.lostCallbacks) callback();
  };

  constructor(private readonly proc: IpcProcess = process as unknown as IpcProcess) {}

  /** Whether an IPC channel to a supervisor is open. */
  get supervised(): boolean {
    return typeof this.proc.send === "function" && this.proc.connected === true;
  }

  start(intervalMs: number): boolean {
    if (this.timer || !this.supervised) return false;
    this.stopped = false;
    this.proc.on("disconnect", this.onDisconnect);
    this.ping();
    this.timer = setInterval(() => this.ping(), intervalMs);
    // The agent's servers keep it alive; the ping alone must not.
    this.timer.unref();
    return true;
  }

  /** Stop pinging; a disconnect after this is expected (shutdown), not a lost supervisor. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.proc.off("disconnect", this.onDisconnect);
  }

  /** `callback` runs when the supervisor goes away while the agent runs (it was killed): PROCESS_KILLED. */
  onSupervisorLost(callback: () => void): void {
    this.lostCallbacks.push(callback);
  }

  private ping(): void {
    if (!this.proc.connected) return;
    try {
      // The callback swallows ERR_IPC_CHANNEL_CLOSED races; the 'disconnect' event reports the loss.
      this.proc.send?.({ type: ALIVE }, () => {});
    } catch {
      // Channel closed between the check and the send: 'disconnect' follows.
    }
  }
}
