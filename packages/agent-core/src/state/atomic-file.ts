/**
 * Crash-safe file writes and quarantine of unreadable files. A write is temp file + fsync + rename +
 * directory fsync, so a reader sees the old or the new bytes, never a torn file (POSIX rename(2)).
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** Write `data` to `path` atomically; `mode` applies to the new file (e.g. 0o600 for keys). */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o644): void {
  const temp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(temp, "w", mode);
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncDirectory(dirname(path));
}

function fsyncDirectory(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}

/**
 * Move an unreadable file aside as `<path>.corrupt-<ms>` so the agent starts fresh instead of failing
 * on it at every start (no crash loop), while keeping the evidence. Returns the new path.
 */
export function quarantineFile(path: string, now = Date.now()): string {
  const target = `${path}.corrupt-${now}`;
  renameSync(path, target);
  return target;
}
