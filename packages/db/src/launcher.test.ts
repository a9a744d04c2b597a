import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { createSql } from "./client";
import { startEmbeddedPostgres } from "./launcher";
import { freePort } from "./testing/global-setup";

const root = mkdtempSync(join(tmpdir(), "bb-launcher-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Alive and not a zombie waiting for its (re)parent to reap it. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return !/\) Z /.test(stat);
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

describe("embedded PostgreSQL launcher", () => {
  test("recovers a postmaster left running by a launcher killed with SIGKILL", async () => {
    const port = await freePort();
    // A separate launcher process starts the cluster, then dies without stopping it.
    const script = `import { startEmbeddedPostgres } from ${JSON.stringify(join(import.meta.dirname, "launcher.ts"))};
      const pg = await startEmbeddedPostgres({ root: ${JSON.stringify(root)}, port: ${port}, ephemeral: true });
      console.log("READY " + pg.pid); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const orphanPid = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const match = /READY (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", (code) => reject(new Error(`launcher child exited early (${code})`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(isAlive(orphanPid)).toBe(true); // the postmaster survived its launcher

    const pg = await startEmbeddedPostgres({ root, port, ephemeral: true });
    try {
      expect(await waitForExit(orphanPid, 5000)).toBe(true);
      const sql = createSql(pg.url("postgres"), { max: 1 });
      const [row] = await sql<{ one: number }[]>`select 1 as one`;
      await sql.end();
      expect(row?.one).toBe(1);
      expect(readFileSync(join(root, "pg.owner"), "utf8").trim()).toBe(String(process.pid));
    } finally {
      await pg.stop();
    }
    expect(existsSync(join(root, "pg.owner"))).toBe(false);
  }, 90_000);

  test("keeps the superuser secret in a file only the owner can read", () => {
    const mode = statSync(join(root, "pg-secret.json")).mode;
    expect(mode & 0o077).toBe(0);
  });
});
