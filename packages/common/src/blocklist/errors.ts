/**
 * Errors raised while compiling, loading, matching or patching a blocklist.
 *
 * Every failure carries a stable `code` so callers (the device agent, the list server) can branch on
 * it without parsing messages: e.g. the agent keeps its current list on any `BLOCKLIST_*` load error,
 * and the server falls back to a full snapshot on `BLOCKLIST_DELTA_IMPOSSIBLE`.
 */
export type BlocklistErrorCode =
  /** The bytes do not start with the expected magic ("BBLIST" / "BBDELT"). */
  | "BLOCKLIST_BAD_MAGIC"
  /** The format version is one this build does not understand. */
  | "BLOCKLIST_UNSUPPORTED_VERSION"
  /** The bytes end before a declared header, section or signature does. */
  | "BLOCKLIST_TRUNCATED"
  /** The bytes are structurally inconsistent (overlapping sections, bad offsets, trailing bytes...). */
  | "BLOCKLIST_CORRUPT"
  /** The list (or delta) names a signing key other than the pinned one. */
  | "BLOCKLIST_KEY_MISMATCH"
  /** The Ed25519 signature does not verify with the pinned key. */
  | "BLOCKLIST_BAD_SIGNATURE"
  /** prev_hash does not match the SHA-256 of the list the caller holds. */
  | "BLOCKLIST_CHAIN_MISMATCH"
  /** A delta cannot express N -> N+1 (different seed, bucket bits or key); serve a full snapshot. */
  | "BLOCKLIST_DELTA_IMPOSSIBLE"
  /** The delta was made against a different base list than the one it is applied to. */
  | "BLOCKLIST_DELTA_BASE_MISMATCH"
  /** Applying the delta did not reproduce the announced N+1 byte for byte. */
  | "BLOCKLIST_DELTA_RESULT_MISMATCH"
  /** A compiler input rule (domain, category, version...) is invalid. */
  | "BLOCKLIST_INVALID_RULE"
  /** A glob pattern fails validation (charset, length, too few literal characters). */
  | "BLOCKLIST_INVALID_PATTERN";

export class BlocklistFormatError extends Error {
  override readonly name = "BlocklistFormatError";

  constructor(
    readonly code: BlocklistErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Shorthand used by parsers: throw a `BlocklistFormatError` when `condition` is false. */
export function ensure(condition: boolean, code: BlocklistErrorCode, message: string): asserts condition {
  if (!condition) throw new BlocklistFormatError(code, message);
}
