/**
 * Fetching a list source with conditional requests (RFC 9110 section 13.1): an http(s) URL is requested with
 * If-None-Match (the stored ETag) and If-Modified-Since (the stored Last-Modified); 304 means "not modified".
 * A file source uses its modification time and size as the validator. The body is read whole, up to a size
 * limit, because the import needs the complete list before it may change anything.
 */
import { readFile, stat } from "node:fs/promises";

export type FetchedList =
  | { kind: "not_modified"; etag: string | null; lastModified: string | null }
  | { kind: "content"; body: Buffer; etag: string | null; lastModified: string | null };

export class ListFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListFetchError";
  }
}

export interface FetchListOptions {
  etag: string | null;
  lastModified: string | null;
  timeoutMs: number;
  maxBytes: number;
  signal?: AbortSignal;
}

export function isHttpLocation(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export async function fetchList(location: string, options: FetchListOptions): Promise<FetchedList> {
  return isHttpLocation(location)
    ? await fetchHttp(location, options)
    : await readListFile(location, options);
}

async function fetchHttp(url: string, options: FetchListOptions): Promise<FetchedList> {
  const headers: Record<string, string> = { "user-agent": "BetBlocker-worker (list source import)" };
  if (options.etag) headers["if-none-match"] = options.etag;
  if (options.lastModified) headers["if-modified-since"] = options.lastModified;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal, redirect: "follow" });
  } catch (error) {
    throw new ListFetchError(`fetch failed: ${describeFetchError(error)}`);
  }
  if (response.status === 304) {
    await response.body?.cancel();
    return {
      kind: "not_modified",
      etag: response.headers.get("etag") ?? options.etag,
      lastModified: response.headers.get("last-modified") ?? options.lastModified,
    };
  }
  if (response.status < 200 || response.status > 299) {
    await response.body?.cancel();
    throw new ListFetchError(`HTTP ${response.status} ${response.statusText}`.trim());
  }
  const declared = Number(response.headers.get("content-length") ?? 0);
  if (declared > options.maxBytes) {
    await response.body?.cancel();
    throw new ListFetchError(`list is ${declared} bytes, more than the limit of ${options.maxBytes}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.length;
      if (size > options.maxBytes)
        throw new ListFetchError(`list exceeds the limit of ${options.maxBytes} bytes`);
      chunks.push(Buffer.from(chunk));
    }
  } catch (error) {
    if (error instanceof ListFetchError) throw error;
    throw new ListFetchError(`reading the body failed: ${describeFetchError(error)}`);
  }
  return {
    kind: "content",
    body: Buffer.concat(chunks, size),
    etag: response.headers.get("etag"),
    lastModified: response.headers.get("last-modified"),
  };
}

async function readListFile(path: string, options: FetchListOptions): Promise<FetchedList> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ListFetchError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  if (!info.isFile()) throw new ListFetchError(`${path} is not a file`);
  if (info.size > options.maxBytes)
    throw new ListFetchError(`list is ${info.size} bytes, more than the limit of ${options.maxBytes}`);
  const validator = `file:${Math.trunc(info.mtimeMs)}:${info.size}`;
  if (options.lastModified === validator)
    return { kind: "not_modified", etag: null, lastModified: validator };
  try {
    return { kind: "content", body: await readFile(path), etag: null, lastModified: validator };
  } catch (error) {
    throw new ListFetchError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as Error & { cause?: unknown }).cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return `${error.name === "TimeoutError" ? "timed out" : error.message}${detail}`;
}
