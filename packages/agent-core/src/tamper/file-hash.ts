/**
 * SHA-256 of files with a stat cache: a file is re-hashed only when its (dev, ino, size, mtimeMs,
 * ctimeMs) changed, and at least every `fullRehashMs` anyway (mtime can be set back with `touch -d`;
 * ctime cannot without root, but root can do anything, so re-read periodically). Hashing streams the
 * file so a large binary does not block the event loop the DNS forwarder shares.
 */
import { createHash } from "node:crypto";
import { createReadStream, type Stats } from "node:fs";
import { stat } from "node:fs/promises";

export const FULL_REHASH_MS = 10 * 60_000;

export interface FileDigest {
  /** Lower-case hex SHA-256 of the content. */
  sha256: string;
  size: number;
}

/** Identity + content stamp of a file: any write, replacement or chmod changes one of these. */
export function statKey(stats: Stats): string {
  return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/** SHA-256 of a whole file, streamed. Throws on I/O errors (ENOENT included). */
export async function sha256File(path: string): Promise<FileDigest> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    hash.update(bytes);
  }
  return { sha256: hash.digest("hex"), size };
}

export function sha256Text(text: string | Uint8Array): string {
  return createHash("sha256").update(text).digest("hex");
}

interface CacheEntry extends FileDigest {
  key: string;
  hashedAt: number;
}

export class FileHasher {
  private readonly cache = new Map<string, CacheEntry>();
  /** Files read in full so far (for tests and status: shows the cache works). */
  hashedCount = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly fullRehashMs = FULL_REHASH_MS,
  ) {}

  /** Digest of `path`, or null when it does not exist. Other I/O errors (EACCES...) are thrown. */
  async digest(path: string): Promise<FileDigest | null> {
    const before = await statOrNull(path);
    if (!before) {
      this.cache.delete(path);
      return null;
    }
    const key = statKey(before);
    const cached = this.cache.get(path);
    const now = this.now();
    if (cached && cached.key === key && now - cached.hashedAt < this.fullRehashMs) {
      return { sha256: cached.sha256, size: cached.size };
    }
    let digest: FileDigest;
    try {
      this.hashedCount += 1;
      digest = await sha256File(path);
    } catch (error) {
      if (isMissing(error)) {
        this.cache.delete(path);
        return null;
      }
      throw error;
    }
    // Only cache when the file did not change while it was read (else the hash may be of a mix).
    const after = await statOrNull(path);
    if (after && statKey(after) === key) this.cache.set(path, { ...digest, key, hashedAt: now });
    else this.cache.delete(path);
    return digest;
  }

  /** Forget everything (next `digest` re-reads every file). */
  clear(): void {
    this.cache.clear();
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/** ENOENT, or ENOTDIR when a parent directory was replaced by a file. */
export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
