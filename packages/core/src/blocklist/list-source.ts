/**
 * Reads a list line by line from a file path or an http(s) URL, reporting progress in bytes.
 * Lines are yielded without their line terminator; line numbers start at 1.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { AppError } from "@betblocker/common/errors/app-error";

export interface ListReadProgress {
  bytesRead: number;
  /** Total size when known (file size, Content-Length), else 0. */
  bytesTotal: number;
}

export interface OpenedList {
  lines: AsyncIterable<string>;
  progress(): ListReadProgress;
  /** For an HTTP source: the ETag, for conditional re-fetches later. */
  etag: string | null;
}

export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

export async function openList(
  location: string,
  options: { fetchTimeoutMs?: number } = {},
): Promise<OpenedList> {
  let stream: Readable;
  let bytesTotal = 0;
  let etag: string | null = null;
  if (isUrl(location)) {
    let response: Response;
    try {
      response = await fetch(location, {
        signal: AbortSignal.timeout(options.fetchTimeoutMs ?? 60_000),
        redirect: "follow",
      });
    } catch (error) {
      throw new AppError("SERVICE_UNAVAILABLE", `cannot fetch ${location}: ${(error as Error).message}`);
    }
    if (!response.ok || !response.body) {
      throw new AppError("SERVICE_UNAVAILABLE", `cannot fetch ${location}: HTTP ${response.status}`);
    }
    bytesTotal = Number(response.headers.get("content-length") ?? 0) || 0;
    etag = response.headers.get("etag");
    stream = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  } else {
    if (!existsSync(location)) throw new AppError("NOT_FOUND", `list file ${location} does not exist`);
    const stat = statSync(location);
    if (!stat.isFile()) throw new AppError("VALIDATION_FAILED", `${location} is not a file`);
    bytesTotal = stat.size;
    stream = createReadStream(location);
  }
  let bytesRead = 0;
  stream.on("data", (chunk: Buffer | string) => {
    bytesRead += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
  });
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  return { lines, progress: () => ({ bytesRead, bytesTotal }), etag };
}
