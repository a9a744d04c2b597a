/**
 * Which configuration changes tighten an enrollment's protection, reporting or unenrollment policy, and which
 * loosen it. Tightening applies at once; loosening needs the same approval as unenrolling (a pending config
 * change request), because otherwise "unenroll needs my partner" would be worked around by switching
 * protection off piece by piece.
 *
 * The table CONFIG_FIELD_RULES names every leaf field of the three JSONB configs (spec 003 sections 9.1-9.3)
 * with the rule that classifies a change of it. A field missing from the table is classified "loosens"
 * (fail safe: a new schema field needs approval until someone decides otherwise), and a test checks that
 * every field of the schemas is in the table.
 *
 * Leaves are scalars and arrays; arrays (alert_channels, notify_accounts) are compared as sets.
 */

export type ChangeDirection = "tightens" | "loosens" | "neutral";

export const CONFIG_NAMES = ["protection_config", "reporting_config", "unenrollment_policy"] as const;
export type ConfigName = (typeof CONFIG_NAMES)[number];

/** Classifies a change of one field; only called when the old and new values differ. */
export type ChangeRule = (oldValue: unknown, newValue: unknown) => ChangeDirection;

export interface FieldRule {
  classify: ChangeRule;
  /** The rule in words, for documentation and the API reference. */
  description: string;
}

/** A boolean protection that is on when true (block_doh, an alert, a reported event kind...). */
const onIsTighter: FieldRule = {
  classify: (_old, next) => (next === true ? "tightens" : "loosens"),
  description: "false -> true tightens; true -> false loosens",
};

/** user_can_request: the user being allowed to ask is the looser setting. */
const offIsTighter: FieldRule = {
  classify: (_old, next) => (next === false ? "tightens" : "loosens"),
  description: "true -> false tightens; false -> true loosens",
};

/** An ordered scale from loosest to tightest; an unknown value counts as loosest. */
function scale(order: readonly string[]): FieldRule {
  return {
    classify: (old, next) =>
      order.indexOf(String(next)) > order.indexOf(String(old)) ? "tightens" : "loosens",
    description: `${order.join(" < ")} (towards the right tightens, towards the left loosens)`,
  };
}

function asNumber(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

const shorterIsTighter: FieldRule = {
  classify: (old, next) => (asNumber(next) < asNumber(old) ? "tightens" : "loosens"),
  description: "shorter tightens; longer loosens",
};

const longerIsTighter: FieldRule = {
  classify: (old, next) => (asNumber(next) > asNumber(old) ? "tightens" : "loosens"),
  description: "longer tightens; shorter loosens",
};

/** minimum_enrollment_days: null means no minimum (0). */
const moreDaysIsTighter: FieldRule = {
  classify: (old, next) => (asNumber(next) > asNumber(old) ? "tightens" : "loosens"),
  description: "more days tightens; fewer days or null (no minimum) loosens",
};

/** A list of recipients or channels: removing any entry loosens, only adding tightens, reordering is neutral. */
const setOfRecipients: FieldRule = {
  classify: (old, next) => {
    const before = new Set(Array.isArray(old) ? old.map(String) : []);
    const after = new Set(Array.isArray(next) ? next.map(String) : []);
    if ([...before].some((value) => !after.has(value))) return "loosens";
    if ([...after].some((value) => !before.has(value))) return "tightens";
    return "neutral";
  },
  description: "removing any entry loosens; only adding entries tightens; reordering is neutral",
};

/**
 * redirect_url: blocked names resolve to the interstitial's address, so pointing it elsewhere could send a
 * gambling name to any server (a bypass). Any new URL loosens; removing it (back to NXDOMAIN) tightens.
 */
const redirectUrl: FieldRule = {
  classify: (_old, next) => (next === null ? "tightens" : "loosens"),
  description: "any new URL loosens (it decides where blocked names resolve); null tightens",
};

const neutral: FieldRule = {
  classify: () => "neutral",
  description: "neutral (the owner's privacy choice; applies at once)",
};

const unchangeable: FieldRule = {
  classify: () => "loosens",
  description: "cannot be changed (the tier decides who approves)",
};

/** Every leaf of the three configs, by dotted path as used in config_change events (spec 9.4). */
export const CONFIG_FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  // protection_config (9.1)
  "protection_config.layers.dns": onIsTighter,
  "protection_config.layers.application": onIsTighter,
  "protection_config.layers.browser": onIsTighter,
  "protection_config.dns.block_response": scale(["redirect", "nxdomain"]),
  "protection_config.dns.redirect_url": redirectUrl,
  "protection_config.dns.block_doh": onIsTighter,
  "protection_config.dns.block_dot": onIsTighter,
  "protection_config.dns.hosts_file_fallback": onIsTighter,
  "protection_config.bypass_detection.vpn_action": scale(["log", "alert", "lockdown"]),
  "protection_config.bypass_detection.proxy_action": scale(["log", "alert", "lockdown"]),
  "protection_config.bypass_detection.tor_action": scale(["log", "alert", "lockdown"]),
  "protection_config.heartbeat_interval_seconds": shorterIsTighter,
  "protection_config.tamper_sensitivity": scale(["standard", "elevated", "maximum"]),
  // reporting_config (9.2)
  "reporting_config.report_to_authority.blocks": onIsTighter,
  "reporting_config.report_to_authority.bypass_attempts": onIsTighter,
  "reporting_config.report_to_authority.tamper_events": onIsTighter,
  "reporting_config.report_to_authority.heartbeat_status": onIsTighter,
  "reporting_config.report_to_authority.config_changes": onIsTighter,
  "reporting_config.aggregation_level": scale(["aggregated", "detailed"]),
  "reporting_config.federated_reporting": neutral,
  "reporting_config.alerts.on_bypass_attempt": onIsTighter,
  "reporting_config.alerts.on_tamper": onIsTighter,
  "reporting_config.alerts.on_missed_heartbeat": onIsTighter,
  "reporting_config.alerts.alert_channels": setOfRecipients,
  // unenrollment_policy (9.3)
  "unenrollment_policy.approval_required_by": unchangeable,
  "unenrollment_policy.delay_hours": longerIsTighter,
  "unenrollment_policy.notify_on_request": onIsTighter,
  "unenrollment_policy.user_can_request": offIsTighter,
  "unenrollment_policy.minimum_enrollment_days": moreDaysIsTighter,
  "unenrollment_policy.notify_accounts": setOfRecipients,
};

/** How a change of `field` from `oldValue` to `newValue` counts. Unknown fields loosen (fail safe). */
export function classifyChange(field: string, oldValue: unknown, newValue: unknown): ChangeDirection {
  if (jsonEqual(oldValue, newValue)) return "neutral";
  const rule = CONFIG_FIELD_RULES[field];
  return rule ? rule.classify(oldValue, newValue) : "loosens";
}

export interface FieldChange {
  /** Dotted path, e.g. "protection_config.dns.block_doh". */
  field: string;
  oldValue: unknown;
  newValue: unknown;
  direction: ChangeDirection;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Structural equality of JSON values; arrays compare in order (set semantics live in the rules). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((value, index) => jsonEqual(value, b[index]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => jsonEqual(a[key], b[key]));
  }
  return false;
}

/** The leaves of a config object as [dotted path, value]; arrays and scalars are leaves. */
export function leafFields(value: unknown, prefix: string): Array<[string, unknown]> {
  if (!isPlainObject(value)) return [[prefix, value]];
  return Object.entries(value).flatMap(([key, child]) => leafFields(child, `${prefix}.${key}`));
}

/**
 * Field-by-field differences between two complete (validated) configs of one kind, each classified.
 * Fields present on one side only are compared with null.
 */
export function diffConfig(name: ConfigName, before: unknown, after: unknown): FieldChange[] {
  const oldLeaves = new Map(leafFields(before, name));
  const newLeaves = new Map(leafFields(after, name));
  const fields = [...new Set([...oldLeaves.keys(), ...newLeaves.keys()])];
  const changes: FieldChange[] = [];
  for (const field of fields) {
    const oldValue = oldLeaves.has(field) ? oldLeaves.get(field) : null;
    const newValue = newLeaves.has(field) ? newLeaves.get(field) : null;
    if (jsonEqual(oldValue, newValue)) continue;
    changes.push({ field, oldValue, newValue, direction: classifyChange(field, oldValue, newValue) });
  }
  return changes;
}

/**
 * A PATCH of a config: objects merge key by key (recursively), anything else (scalars, arrays, null)
 * replaces. Keys the schema does not know are kept, so strict validation afterwards reports them.
 */
export function mergeConfigPatch(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch) || !isPlainObject(base)) return structuredClone(patch);
  const merged: Record<string, unknown> = structuredClone(base);
  for (const [key, value] of Object.entries(patch)) {
    merged[key] = mergeConfigPatch(merged[key], value);
  }
  return merged;
}

/** Sets the leaf at a dotted path (below the config name) in a copy of `config`. */
export function setConfigField(config: unknown, field: string, value: unknown): unknown {
  const [, ...path] = field.split(".");
  const copy: Record<string, unknown> = isPlainObject(config) ? structuredClone(config) : {};
  let cursor = copy;
  for (const [index, key] of path.entries()) {
    if (index === path.length - 1) {
      cursor[key] = structuredClone(value);
    } else {
      if (!isPlainObject(cursor[key])) cursor[key] = {};
      cursor = cursor[key] as Record<string, unknown>;
    }
  }
  return copy;
}

/** The config a dotted field belongs to, or null for a field outside the three configs. */
export function configOfField(field: string): ConfigName | null {
  const head = field.split(".")[0];
  return (CONFIG_NAMES as readonly string[]).includes(head ?? "") ? (head as ConfigName) : null;
}
