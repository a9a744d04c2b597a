/**
 * Test helpers: every message of the contract, and a sample of any message with every field set to
 * a non-default value (so a round trip proves each field survives, not just the defaults).
 */
import { create, type DescField, type DescMessage, type MessageShape, ScalarType } from "@bufbuild/protobuf";
import { file_betblocker_agent_v1_agent } from "./gen/betblocker/agent/v1/agent_pb";
import { file_betblocker_agent_v1_blocklist } from "./gen/betblocker/agent/v1/blocklist_pb";
import { file_betblocker_agent_v1_config } from "./gen/betblocker/agent/v1/config_pb";
import { file_betblocker_agent_v1_events } from "./gen/betblocker/agent/v1/events_pb";

export const CONTRACT_FILES = [
  file_betblocker_agent_v1_agent,
  file_betblocker_agent_v1_blocklist,
  file_betblocker_agent_v1_config,
  file_betblocker_agent_v1_events,
] as const;

/** Every message declared in the contract's .proto files (top level and nested). */
export function allMessageSchemas(): DescMessage[] {
  const all: DescMessage[] = [];
  const visit = (message: DescMessage) => {
    all.push(message);
    message.nestedMessages.forEach(visit);
  };
  for (const file of CONTRACT_FILES) file.messages.forEach(visit);
  return all;
}

/** How many samples `fullSamples` makes for a message: one per case of its largest oneof. */
function sampleCount(schema: DescMessage): number {
  return Math.max(1, ...schema.oneofs.map((oneof) => oneof.fields.length));
}

/**
 * Samples of `schema` with every field set (non-zero scalars, the last declared enum value, two list
 * items, nested messages filled the same way); sample i sets case i of each oneof, so together they
 * cover every oneof case.
 */
export function fullSamples<Desc extends DescMessage>(schema: Desc): MessageShape<Desc>[] {
  return Array.from({ length: sampleCount(schema) }, (_, index) => fullSample(schema, index));
}

export function fullSample<Desc extends DescMessage>(schema: Desc, variant = 0): MessageShape<Desc> {
  return create(schema, initOf(schema, variant) as never) as MessageShape<Desc>;
}

function initOf(schema: DescMessage, variant: number): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (field.oneof !== undefined) continue;
    init[field.localName] = sampleValue(field, variant);
  }
  for (const oneof of schema.oneofs) {
    const field = oneof.fields[variant % oneof.fields.length];
    if (field !== undefined)
      init[oneof.localName] = { case: field.localName, value: sampleValue(field, variant) };
  }
  return init;
}

function sampleValue(field: DescField, variant: number): unknown {
  switch (field.fieldKind) {
    case "scalar":
      return scalarOf(field.scalar, field.name);
    case "enum":
      return lastEnumNumber(field.enum.values.map((value) => value.number));
    case "message":
      return initOf(field.message, variant);
    case "list":
      if (field.listKind === "scalar")
        return [scalarOf(field.scalar, field.name), scalarOf(field.scalar, "2")];
      if (field.listKind === "enum")
        return field.enum.values.map((value) => value.number).filter((n) => n !== 0);
      return [initOf(field.message, variant), initOf(field.message, variant + 1)];
    case "map":
      throw new Error(`map field ${field.name}: add a sample for it`);
  }
}

function lastEnumNumber(numbers: number[]): number {
  return Math.max(...numbers);
}

function scalarOf(type: ScalarType, name: string): unknown {
  switch (type) {
    case ScalarType.STRING:
      return `${name}-é✓`;
    case ScalarType.BYTES:
      return new Uint8Array([0, 1, 2, 254, 255, name.length]);
    case ScalarType.BOOL:
      return true;
    case ScalarType.FLOAT:
      return 0.5;
    case ScalarType.DOUBLE:
      return 0.25;
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return -1_700_000_000n;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return 1_700_000_000n;
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      // Timestamp.nanos must stay within 0..999_999_999; other signed fields are happy with it too.
      return 123_456_789;
    default:
      return 4_000_000_000;
  }
}
