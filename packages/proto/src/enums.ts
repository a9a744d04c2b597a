/**
 * Wire enums <-> the string values of the SQL enums and JSONB configs, and detection of enum values
 * this version does not know.
 *
 * Naming contract (checked by enums.test.ts against @betblocker/common): a wire enum value's SQL or
 * JSON string is its name without the enum's shared prefix, lower-cased
 * (EVENT_TYPE_BYPASS_ATTEMPT -> "bypass_attempt", PLATFORM_MACOS -> "macos"). The zero value
 * (*_UNSPECIFIED) has no string.
 *
 * proto3 enums are open: a number the receiver does not know decodes as that number. Such a value
 * is never mapped to a string (`enumToString` answers undefined) and `findUnknownEnumValues` lists
 * every one in a message, so the API can refuse it with 400 VALIDATION_FAILED naming the field.
 */
import type { DescEnum, DescField, DescMessage, MessageShape } from "@bufbuild/protobuf";
import { isUnknownEnum } from "@bufbuild/protobuf";

/** The string of a known, non-zero enum value; undefined for the zero value and unknown numbers. */
export function enumToString(enumDesc: DescEnum, value: number): string | undefined {
  if (value === 0) return undefined;
  const name = enumDesc.value[value]?.name;
  if (name === undefined) return undefined;
  return stripPrefix(enumDesc, name).toLowerCase();
}

/** The enum number of a string value; undefined for a string that names no value (or the zero value). */
export function enumFromString(enumDesc: DescEnum, text: string): number | undefined {
  for (const value of enumDesc.values) {
    if (value.number !== 0 && stripPrefix(enumDesc, value.name).toLowerCase() === text) return value.number;
  }
  return undefined;
}

/** All string values of an enum, in number order (the zero value left out). */
export function enumStrings(enumDesc: DescEnum): string[] {
  return [...enumDesc.values]
    .filter((value) => value.number !== 0)
    .sort((a, b) => a.number - b.number)
    .map((value) => stripPrefix(enumDesc, value.name).toLowerCase());
}

/** True when `value` is declared in the enum (the zero value included). */
export function isKnownEnumValue(enumDesc: DescEnum, value: number): boolean {
  return !isUnknownEnum(enumDesc, value);
}

function stripPrefix(enumDesc: DescEnum, name: string): string {
  // sharedPrefix is lower-case snake ("event_type_"); value names are upper-case.
  const prefix = enumDesc.sharedPrefix?.toUpperCase();
  return prefix !== undefined && name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** An enum value this version does not know. `path` uses the .proto field names: "events[3].event_type". */
export interface UnknownEnumValue {
  path: string;
  /** Fully-qualified enum name, e.g. "betblocker.agent.v1.EventType". */
  enumType: string;
  value: number;
}

/**
 * Every enum value in `message` (nested messages, lists and oneofs included) that its enum does not
 * declare. Empty when all are known.
 */
export function findUnknownEnumValues<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): UnknownEnumValue[] {
  const found: UnknownEnumValue[] = [];
  walkMessage(schema, message as unknown as Record<string, unknown>, "", found);
  return found;
}

function walkMessage(
  schema: DescMessage,
  message: Record<string, unknown>,
  path: string,
  found: UnknownEnumValue[],
): void {
  for (const field of schema.fields) {
    const value = fieldValue(field, message);
    if (value === undefined) continue;
    const fieldPath = path === "" ? field.name : `${path}.${field.name}`;
    switch (field.fieldKind) {
      case "enum":
        checkEnum(field.enum, value as number, fieldPath, found);
        break;
      case "message":
        walkMessage(field.message, value as Record<string, unknown>, fieldPath, found);
        break;
      case "list":
        (value as unknown[]).forEach((item, index) => {
          const itemPath = `${fieldPath}[${index}]`;
          if (field.listKind === "enum") checkEnum(field.enum, item as number, itemPath, found);
          if (field.listKind === "message") {
            walkMessage(field.message, item as Record<string, unknown>, itemPath, found);
          }
        });
        break;
      case "map":
        for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
          const itemPath = `${fieldPath}[${JSON.stringify(key)}]`;
          if (field.mapKind === "enum") checkEnum(field.enum, item as number, itemPath, found);
          if (field.mapKind === "message") {
            walkMessage(field.message, item as Record<string, unknown>, itemPath, found);
          }
        }
        break;
      case "scalar":
        break;
    }
  }
}

/** A field's value in a message object; undefined when it is a message field that is unset or another oneof case. */
function fieldValue(field: DescField, message: Record<string, unknown>): unknown {
  if (field.oneof === undefined) return message[field.localName];
  const group = message[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
  return group?.case === field.localName ? group.value : undefined;
}

function checkEnum(enumDesc: DescEnum, value: number, path: string, found: UnknownEnumValue[]): void {
  if (isUnknownEnum(enumDesc, value)) found.push({ path, enumType: enumDesc.typeName, value });
}
