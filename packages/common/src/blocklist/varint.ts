/**
 * Unsigned LEB128 varints for integers up to 2^53 - 1 (JS numbers stay exact), used by the delta codec.
 * 7 bits per byte, low group first, high bit = "more bytes follow".
 */
import { BlocklistFormatError, ensure } from "./errors";

/** At most 8 bytes encode 53 bits. */
const MAX_VARINT_BYTES = 8;

/** Growable byte sink for encoding. */
export class ByteWriter {
  private buffer = new Uint8Array(1024);
  private length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  /** Contract: 0 <= value <= Number.MAX_SAFE_INTEGER, integer. */
  varint(value: number): void {
    this.reserve(MAX_VARINT_BYTES);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.length++] = value;
  }

  bytes(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }

  /** Length-prefixed (varint) byte string. */
  block(value: Uint8Array): void {
    this.varint(value.length);
    this.bytes(value);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Bounds-checked reader; every overrun throws BLOCKLIST_CORRUPT naming `what`. */
export class ByteReader {
  position: number;

  constructor(
    private readonly buffer: Uint8Array,
    start: number,
    private readonly end: number,
    private readonly what: string,
  ) {
    this.position = start;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        ensure(value <= Number.MAX_SAFE_INTEGER, "BLOCKLIST_CORRUPT", `${this.what}: varint out of range`);
        return value;
      }
      scale *= 0x80;
    }
    throw new BlocklistFormatError(
      "BLOCKLIST_CORRUPT",
      `${this.what}: varint longer than ${MAX_VARINT_BYTES} bytes`,
    );
  }

  byte(): number {
    ensure(this.position < this.end, "BLOCKLIST_CORRUPT", `${this.what}: unexpected end of data`);
    return this.buffer[this.position++]!;
  }

  bytes(length: number): Uint8Array {
    ensure(this.position + length <= this.end, "BLOCKLIST_CORRUPT", `${this.what}: unexpected end of data`);
    const start = this.position;
    this.position += length;
    return this.buffer.subarray(start, start + length);
  }

  block(): Uint8Array {
    return this.bytes(this.varint());
  }

  expectEnd(): void {
    ensure(this.position === this.end, "BLOCKLIST_CORRUPT", `${this.what}: trailing bytes`);
  }
}
