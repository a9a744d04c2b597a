import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  appendJournal,
  EXIT_STOPPED_ON_PURPOSE,
  type IpcProcess,
  type JournalEntry,
  runSupervisor,
  type Supervisor,
  takeJournal,
  WatchdogClient,
} from "./watchdog";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const WATCHDOG_MODULE = fileURLToPath(new URL("./watchdog.ts", import.meta.url));

/**
 * The supervised child. Modes: "normal" pings every 50 ms and exits 0 on SIGTERM; "hang" stops
 * pinging after two pings; "exit64" exits with EXIT_STOPPED_ON_PURPOSE after 150 ms.
 */
const CHILD_SCRIPT = `
const mode = process.argv[2] ?? "normal";
let pings = 0;
const ping = () => {
  if (mode === "hang" && pings >= 2) return;
  pings += 1;
  process.send?.({ type: "alive" });
};
ping();
setInterval(ping, 50);
process.on("SIGTERM", () => process.exit(0));
if (mode === "exit64") setTimeout(() => process.exit(${EXIT_STOPPED_ON_PURPOSE}), 150);
`;

let dir: string;
let journal: string;
let childScript: string;
let pids: number[];
let supervisors: Supervisor[];
let processes: ChildProcess[];
let logs: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bb-watchdog-"));
  journal = join(dir, "watchdog.journal");
  childScript = join(dir, "child.mjs");
  writeFileSync(childScript, CHILD_SCRIPT);
  pids = [];
  supervisors = [];
  processes = [];
  logs = [];
});

afterEach(async () => {
  for (const supervisor of supervisors) {
    await Promise.race([supervisor.stop(), sleep(3000)]);
  }
  for (const child of processes) if (child.pid) killQuietly(child.pid);
  for (const pid of pids) killQuietly(pid);
  rmSync(dir, { recursive: true, force: true });
});

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `condition` until true; fails the test after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; logs: ${logs.join(" | ")}`);
    await sleep(20);
  }
}

function supervise(mode: string, pingTimeoutMs = 1000): Supervisor {
  const supervisor = runSupervisor({
    command: process.execPath,
    args: [childScript, mode],
    journalPath: journal,
    pingTimeoutMs,
    restartBackoffMs: { min: 50, max: 400 },
    stopTimeoutMs: 2000,
    handleSignals: false,
    log: (message) => logs.push(message),
    onSpawn: (pid) => pids.push(pid),
  });
  supervisors.push(supervisor);
  return supervisor;
}

function journalEntries(): JournalEntry[] {
  if (!existsSync(journal)) return [];
  return readFileSync(journal, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as JournalEntry);
}

describe("watchdog supervisor (real child processes)", () => {
  test("kill -9 of the child: a process_killed journal entry and a restart with a new pid", async () => {
    const supervisor = supervise("normal");
    await waitFor(() => pids.length === 1, "first child");
    const first = pids[0] as number;
    process.kill(first, "SIGKILL");
    await waitFor(() => pids.length === 2, "restart");
    expect(pids[1]).not.toBe(first);
    expect(supervisor.childPid).toBe(pids[1]);
    expect(journalEntries()).toEqual([
      { at: expect.any(Number), kind: "process_killed", signal: "SIGKILL", code: null, pid: first },
    ]);
  });

  test("a child that stops pinging is SIGKILLed, journaled as process_hung and restarted", async () => {
    supervise("hang", 300);
    await waitFor(() => pids.length >= 2, "restart after the hang");
    const first = pids[0] as number;
    await waitFor(() => !alive(first), "hung child killed", 2000);
    expect(journalEntries()[0]).toMatchObject({ kind: "process_hung", signal: "SIGKILL", pid: first });
  });

  test("stop(): SIGTERM to the child, which exits 0: no journal entry, done resolves 0", async () => {
    const supervisor = supervise("normal");
    await waitFor(() => pids.length === 1, "child");
    expect(await Promise.race([supervisor.stop(), sleep(5000).then(() => "timeout")])).toBe(0);
    expect(alive(pids[0] as number)).toBe(false);
    expect(journalEntries()).toEqual([]);
    await sleep(150);
    expect(pids).toHaveLength(1);
  });

  test("exit code 64 (stopped on purpose) ends the supervisor without a restart or journal entry", async () => {
    const supervisor = supervise("exit64");
    expect(await Promise.race([supervisor.done, sleep(5000).then(() => "timeout")])).toBe(0);
    await sleep(150);
    expect(pids).toHaveLength(1);
    expect(journalEntries()).toEqual([]);
  });

  test("the backoff doubles between quick restarts", async () => {
    writeFileSync(join(dir, "crash.mjs"), "process.exit(3);\n");
    const supervisor = runSupervisor({
      command: process.execPath,
      args: [join(dir, "crash.mjs")],
      journalPath: journal,
      pingTimeoutMs: 1000,
      restartBackoffMs: { min: 20, max: 80 },
      handleSignals: false,
      log: (message) => logs.push(message),
      onSpawn: (pid) => pids.push(pid),
    });
    supervisors.push(supervisor);
    await waitFor(() => pids.length >= 5, "several restarts");
    await supervisor.stop();
    const delays = logs
      .map((line) => /restarting in (\d+) ms/.exec(line)?.[1])
      .filter((delay): delay is string => delay !== undefined)
      .map(Number);
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80]);
    expect(journalEntries()[0]).toMatchObject({ kind: "process_exited", code: 3, signal: null });
  });
});

describe("watchdog supervisor backoff reset", () => {
  test("a child that ran healthy for healthyAfterMs restarts after the minimum delay again", async () => {
    writeFileSync(join(dir, "late-crash.mjs"), "setTimeout(() => process.exit(3), 150);\n");
    const supervisor = runSupervisor({
      command: process.execPath,
      args: [join(dir, "late-crash.mjs")],
      journalPath: journal,
      pingTimeoutMs: 5000,
      restartBackoffMs: { min: 20, max: 80 },
      healthyAfterMs: 100,
      handleSignals: false,
      log: (message) => logs.push(message),
      onSpawn: (pid) => pids.push(pid),
    });
    supervisors.push(supervisor);
    await waitFor(() => pids.length >= 4, "several restarts");
    await supervisor.stop();
    const delays = logs.map((line) => /restarting in (\d+) ms/.exec(line)?.[1]).filter(Boolean);
    expect(delays.slice(0, 3)).toEqual(["20", "20", "20"]);
  });
});

describe("watchdog supervisor spawn failure", () => {
  test("a command that cannot start is retried with backoff, not journaled as a kill", async () => {
    const supervisor = runSupervisor({
      command: join(dir, "no-such-binary"),
      args: [],
      journalPath: journal,
      pingTimeoutMs: 1000,
      restartBackoffMs: { min: 20, max: 40 },
      handleSignals: false,
      log: (message) => logs.push(message),
    });
    supervisors.push(supervisor);
    await waitFor(() => logs.filter((line) => line.includes("ENOENT")).length >= 2, "two failed attempts");
    expect(await Promise.race([supervisor.stop(), sleep(3000).then(() => "timeout")])).toBe(0);
    expect(journalEntries()).toEqual([]);
  });
});

describe("watchdog supervisor process (signals, real processes)", () => {
  /** A supervisor process running this module through tsx, writing child pids to a file. */
  function startSupervisorProcess(
    childMode: string,
    clientChild = false,
  ): { proc: ChildProcess; pidsFile: string } {
    const pidsFile = join(dir, "pids.txt");
    const script = join(dir, "supervisor.mts");
    const child = clientChild ? join(dir, "client-child.mts") : childScript;
    writeFileSync(
      script,
      `import { appendFileSync } from "node:fs";
import { runSupervisor } from ${JSON.stringify(WATCHDOG_MODULE)};
const supervisor = runSupervisor({
  command: process.execPath,
  args: ${JSON.stringify(clientChild ? ["--import", "tsx", child, childMode] : [child, childMode])},
  journalPath: ${JSON.stringify(journal)},
  pingTimeoutMs: 5000,
  restartBackoffMs: { min: 50, max: 400 },
  stopTimeoutMs: 2000,
  log: (message) => process.stderr.write(message + "\\n"),
  onSpawn: (pid) => appendFileSync(${JSON.stringify(pidsFile)}, pid + "\\n"),
});
process.exit(await supervisor.done);
`,
    );
    const proc = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc.stderr?.on("data", (chunk: Buffer) => logs.push(chunk.toString()));
    processes.push(proc);
    return { proc, pidsFile };
  }

  function childPids(pidsFile: string): number[] {
    if (!existsSync(pidsFile)) return [];
    const found = readFileSync(pidsFile, "utf8").split("\n").filter(Boolean).map(Number);
    for (const pid of found) if (!pids.includes(pid)) pids.push(pid);
    return found;
  }

  test("SIGTERM to the supervisor stops the child and the supervisor (exit 0), no journal entry", async () => {
    const { proc, pidsFile } = startSupervisorProcess("normal");
    await waitFor(() => childPids(pidsFile).length === 1, "child started", 15_000);
    const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
    proc.kill("SIGTERM");
    expect(await Promise.race([exited, sleep(8000).then(() => "timeout")])).toBe(0);
    await waitFor(() => !alive(childPids(pidsFile)[0] as number), "child gone", 3000);
    expect(journalEntries()).toEqual([]);
  });

  test("the child's WatchdogClient reports a supervisor killed with SIGKILL", async () => {
    const lostMarker = join(dir, "lost.txt");
    const readyMarker = join(dir, "ready.txt");
    writeFileSync(
      join(dir, "client-child.mts"),
      `import { writeFileSync } from "node:fs";
import { WatchdogClient } from ${JSON.stringify(WATCHDOG_MODULE)};
const client = new WatchdogClient();
client.onSupervisorLost(() => writeFileSync(${JSON.stringify(lostMarker)}, "lost"));
writeFileSync(${JSON.stringify(readyMarker)}, String(client.start(50)));
const keepAlive = setInterval(() => {}, 1000);
process.on("SIGTERM", () => { client.stop(); clearInterval(keepAlive); process.exit(0); });
`,
    );
    const { proc, pidsFile } = startSupervisorProcess("client", true);
    await waitFor(() => childPids(pidsFile).length === 1, "client child started", 15_000);
    await waitFor(() => existsSync(readyMarker), "client child ready", 15_000);
    expect(readFileSync(readyMarker, "utf8")).toBe("true");
    proc.kill("SIGKILL");
    await waitFor(() => existsSync(lostMarker), "supervisor-lost callback", 5000);
    expect(alive(childPids(pidsFile)[0] as number)).toBe(true);
  });
});

describe("watchdog journal", () => {
  test("takeJournal returns the entries, skips a torn last line, and clears the journal", () => {
    const first: JournalEntry = { at: 1, kind: "process_killed", signal: "SIGKILL", code: null, pid: 10 };
    const second: JournalEntry = { at: 2, kind: "process_hung", signal: "SIGKILL", code: null, pid: 11 };
    appendJournal(journal, first);
    appendJournal(journal, second);
    appendFileSync(journal, "not json\n");
    appendFileSync(journal, '{"at": 3, "kind": "process_exi');
    expect(takeJournal(journal)).toEqual([first, second]);
    expect(existsSync(journal)).toBe(false);
    expect(takeJournal(journal)).toEqual([]);
  });

  test("leftovers of an interrupted take are read too; a missing journal is empty", () => {
    expect(takeJournal(join(dir, "absent", "watchdog.journal"))).toEqual([]);
    const leftover: JournalEntry = { at: 5, kind: "process_exited", signal: null, code: 1, pid: 12 };
    appendJournal(`${journal}.taking-1-1`, leftover);
    const fresh: JournalEntry = { at: 6, kind: "process_killed", signal: "SIGTERM", code: null, pid: 13 };
    appendJournal(journal, fresh);
    expect(takeJournal(journal)).toEqual([leftover, fresh]);
    expect(takeJournal(journal)).toEqual([]);
  });
});

describe("WatchdogClient", () => {
  class FakeProcess extends EventEmitter implements IpcProcess {
    connected = true;
    sent: unknown[] = [];
    send = (message: unknown) => {
      this.sent.push(message);
      return true;
    };
  }

  test("pings at once and on the interval; a disconnect calls onSupervisorLost", async () => {
    const proc = new FakeProcess();
    const client = new WatchdogClient(proc);
    let lost = 0;
    client.onSupervisorLost(() => {
      lost += 1;
    });
    expect(client.start(20)).toBe(true);
    expect(proc.sent).toEqual([{ type: "alive" }]);
    await waitFor(() => proc.sent.length >= 3, "interval pings", 2000);
    proc.connected = false;
    proc.emit("disconnect");
    expect(lost).toBe(1);
    const count = proc.sent.length;
    await sleep(60);
    expect(proc.sent.length).toBe(count);
  });

  test("after stop(), a disconnect is a shutdown, not a lost supervisor; unsupervised start is a no-op", () => {
    const proc = new FakeProcess();
    const client = new WatchdogClient(proc);
    let lost = 0;
    client.onSupervisorLost(() => {
      lost += 1;
    });
    client.start(20);
    client.stop();
    proc.emit("disconnect");
    expect(lost).toBe(0);
    const unsupervised = new FakeProcess();
    unsupervised.connected = false;
    expect(new WatchdogClient(unsupervised).start(20)).toBe(false);
    expect(unsupervised.sent).toEqual([]);
  });
});
