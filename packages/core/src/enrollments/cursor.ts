/**
 * Opaque keyset cursors for lists ordered newest first by (timestamp, public id). The cursor carries no
 * internal id: base64url of {"t": ISO timestamp, "p": public id}.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import { z } from "zod";

const cursorSchema = z.object({ t: z.iso.datetime({ offset: true }), p: z.uuid() });

export interface CursorPosition {
  at: Date;
  publicId: string;
}

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify({ t: position.at.toISOString(), p: position.publicId })).toString(
    "base64url",
  );
}

/** The position of a cursor from a previous page; VALIDATION_FAILED (query.cursor) for anything else. */
export function decodeCursor(cursor: string | undefined): CursorPosition | null {
  if (cursor === undefined) return null;
  try {
    const parsed = cursorSchema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
    return { at: new Date(parsed.t), publicId: parsed.p };
  } catch {
    throw new AppError(
      "VALIDATION_FAILED",
      "invalid request: query.cursor: not a cursor from a previous page",
      {
        fieldErrors: [{ path: "query.cursor", message: "not a cursor from a previous page" }],
      },
    );
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
