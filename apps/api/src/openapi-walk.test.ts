/**
 * The OpenAPI walk: every operation in GET /api/v1/openapi.json, whoever added it and whenever, is called
 *   1. unauthenticated, with path parameters filled from their schemas (uuid, integer, string);
 *   2. as a wrong tenant: a valid token of an unrelated user, with path parameters (and uuid body fields)
 *      set to the identifiers of another tenant's real rows (made by factories through the owner client);
 * with a body generated from the request schema (and an empty object) where there is one.
 * Asserted for every call: never a 5xx; never a body containing the other tenant's identifying values
 * (e-mail address, account/device/enrollment public ids, device hostname, domains of its events and
 * reports) unless the request itself carried that value. Statuses:
 *   - unauthenticated on a bearerAuth operation: 401;
 *   - wrong tenant on /api/v1/admin/*: 403;
 *   - wrong tenant with another tenant's uuid in the path: 400, 403 or 404 (never a success, never 409,
 *     which would confirm the row exists).
 * Integer path parameters may name global resources (a blocklist version number), so for them only the
 * no-5xx and no-leak rules apply.
 *
 * Scope: operations of the OpenAPI document only. Device routes authenticated by a client certificate
 * (mTLS) and carrying protobuf are walked only if they are documented there; if they are, they get the
 * no-5xx and no-leak rules (their bearer-less 401/403 depends on the TLS layer, not on this document).
 * Requests are sent over real HTTP on 127.0.0.1, the pool runs as the application role.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  at,
  insertEvents,
  insertFederatedReport,
  insertSnapshot,
  newAccountRow,
  newDevice,
  newEnrollment,
  type SignedInAccount,
  signInAs,
  utcDate,
} from "./testing/tenant-factories";
import { startTestServer, type TestResponse, type TestServer, uniqueEmail } from "./testing/test-server";

type JsonSchema = Record<string, unknown>;

interface Operation {
  method: string;
  path: string;
  parameters: { in: string; name: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  security?: Record<string, unknown>[];
}

interface OtherTenant {
  uuids: string[];
  ints: number[];
  /** Values that must never appear in a response to anyone else. */
  secrets: string[];
  domains: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const METHODS = ["get", "post", "put", "patch", "delete"];

let server: TestServer;
let doc: {
  paths: Record<string, Record<string, Omit<Operation, "method" | "path">>>;
  components?: { schemas?: Record<string, JsonSchema> };
};
let operations: Operation[];
let other: OtherTenant;

/** Every uuid in the row (public ids, whatever columns later migrations add). */
async function uuidsOf(table: string, id: number): Promise<string[]> {
  const [row] = await server.db.owner<{ row: Record<string, unknown> }[]>`
    select to_jsonb(t) as row from ${server.db.owner(table)} t where id = ${id}`;
  return Object.values(row?.row ?? {}).filter((v): v is string => typeof v === "string" && UUID.test(v));
}

async function makeOtherTenant(): Promise<OtherTenant> {
  const db = server.db;
  const account = await newAccountRow(db, "user");
  const partner = await newAccountRow(db, "partner");
  const device = await newDevice(db, account.id);
  const enrollment = await newEnrollment(db, {
    deviceId: device.id,
    enrolledBy: partner.id,
    tier: "partner",
    reportingConfig: { aggregation_level: "detailed" },
    createdAt: new Date(Date.now() - 5 * 86_400_000),
  });
  const tag = `${process.pid}${Date.now().toString(36)}`;
  const eventDomain = `tenantb-secret-${tag}.example`;
  const reportedDomain = `tenantb-reported-${tag}.example`;
  const snapshotDomain = `tenantb-snapshot-${tag}.example`;
  await insertEvents(db, { deviceId: device.id, enrollmentId: enrollment.id }, [
    {
      type: "block",
      metadata: { domain: eventDomain, category: "casino", layer: "dns" },
      at: at(utcDate(-1), "10:00"),
    },
    {
      type: "tamper",
      metadata: { type: "service_stopped", details: `after ${eventDomain}` },
      at: at(utcDate(-1), "11:00"),
    },
  ]);
  await insertSnapshot(db, enrollment.id, utcDate(-2), {
    total_blocks: 1,
    total_bypass_attempts: 0,
    total_tamper_events: 0,
    total_heartbeats: 0,
    missed_heartbeats: 0,
    top_blocked_domains: [{ domain: snapshotDomain, count: 1 }],
    blocks_by_category: {},
    blocks_by_layer: { dns: 1, application: 0, browser: 0 },
    device_status_at_end_of_day: "active",
  });
  const reportId = await insertFederatedReport(db, { deviceId: device.id, domain: reportedDomain });
  const [partnership] = await db.owner<{ id: number }[]>`
    insert into partner_relationships (account_id, partner_account_id, status, accepted_at)
    values (${account.id}, ${partner.id}, 'active', now()) returning id`;
  const [organization] = await db.owner<{ id: number }[]>`
    insert into organizations (name, type) values (${`Tenant B Clinic ${tag}`}, 'therapy') returning id`;
  const [membership] = await db.owner<{ id: number }[]>`
    insert into organization_members (organization_id, account_id, role)
    values (${organization?.id as number}, ${partner.id}, 'admin') returning id`;
  const [unenroll] = await db.owner<{ id: number }[]>`
    insert into enrollment_unenroll_requests (enrollment_id, requested_by_account_id, required_approver_account_id)
    values (${enrollment.id}, ${account.id}, ${partner.id}) returning id`;
  const webhookUrl = `https://tenantb-hook-${tag}.example/alerts`;
  const [webhook] = await db.owner<{ id: number }[]>`
    insert into account_webhooks (account_id, url) values (${partner.id}, ${webhookUrl}) returning id`;
  await db.owner`
    insert into account_webhook_secrets (webhook_id, secret) values (${webhook?.id as number}, ${`bbwhsec_${tag}${"s".repeat(40)}`})`;

  const rows: [string, number][] = [
    ["accounts", account.id],
    ["accounts", partner.id],
    ["devices", device.id],
    ["enrollments", enrollment.id],
    ["partner_relationships", partnership?.id as number],
    ["organizations", organization?.id as number],
    ["organization_members", membership?.id as number],
    ["enrollment_unenroll_requests", unenroll?.id as number],
    ["federated_reports", reportId],
    ["account_webhooks", webhook?.id as number],
  ];
  const uuids = new Set<string>();
  for (const [table, id] of rows) for (const uuid of await uuidsOf(table, id)) uuids.add(uuid);
  return {
    uuids: [...uuids],
    ints: [...new Set(rows.map(([, id]) => id))],
    secrets: [
      account.email,
      partner.email,
      account.publicId,
      partner.publicId,
      device.publicId,
      device.hostname,
      enrollment.publicId,
      eventDomain,
      snapshotDomain,
      webhookUrl,
      `bbwhsec_${tag}`,
    ],
    domains: [eventDomain, reportedDomain],
  };
}

// ---------------------------------------------------------------------------------------------
// Request generation from the document's JSON schemas.

function resolve(schema: JsonSchema | undefined, depth = 0): JsonSchema {
  if (!schema || depth > 20) return {};
  const ref = schema.$ref;
  if (typeof ref === "string") {
    const name = ref.replace(/^#\/components\/schemas\//, "");
    return resolve(doc.components?.schemas?.[name], depth + 1);
  }
  return schema;
}

interface Fill {
  uuid: () => string;
  int: () => number;
  string: () => string;
}

function sample(input: JsonSchema | undefined, fill: Fill, depth = 0): unknown {
  const schema = resolve(input);
  if (depth > 8) return null;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      const nonNull =
        (options as JsonSchema[]).find((option) => resolve(option).type !== "null") ?? options[0];
      return sample(nonNull as JsonSchema, fill, depth + 1);
    }
  }
  const type = Array.isArray(schema.type) ? (schema.type as string[]).find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object": {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((schema.required ?? []) as string[]);
      const value: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(properties)) {
        if (required.has(name)) value[name] = sample(property, fill, depth + 1);
      }
      return value;
    }
    case "array": {
      const minItems = typeof schema.minItems === "number" ? schema.minItems : 0;
      return Array.from({ length: Math.max(minItems, 1) }, () =>
        sample(schema.items as JsonSchema, fill, depth + 1),
      );
    }
    case "integer":
    case "number": {
      if (typeof schema.minimum === "number")
        return Math.max(
          schema.minimum,
          Math.min(fill.int(), Number(schema.maximum ?? Number.MAX_SAFE_INTEGER)),
        );
      return fill.int();
    }
    case "boolean":
      return true;
    case "string": {
      switch (schema.format) {
        case "uuid":
          return fill.uuid();
        case "email":
          return uniqueEmail("walk");
        case "date":
          return utcDate(0);
        case "date-time":
          return new Date().toISOString();
        case "uri":
        case "url":
          return "https://walk.example/";
      }
      const minLength = typeof schema.minLength === "number" ? schema.minLength : 0;
      const text = fill.string();
      return text.length >= minLength ? text : text.padEnd(minLength, "x");
    }
    default:
      return {};
  }
}

function listOperations(): Operation[] {
  const result: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      result.push({
        ...operation,
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
      });
    }
  }
  return result;
}

function requiresBearer(operation: Operation): boolean {
  return (operation.security ?? []).some((requirement) => "bearerAuth" in requirement);
}

interface Call {
  url: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

function buildCall(operation: Operation, fill: Fill, bodyMode: "generated" | "empty"): Call {
  let url = operation.path;
  const query = new URLSearchParams();
  for (const parameter of operation.parameters) {
    if (parameter.in === "path") {
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(sample(parameter.schema, fill))));
    } else if (parameter.in === "query" && parameter.required) {
      query.set(parameter.name, String(sample(parameter.schema, fill)));
    }
  }
  const search = query.toString();
  const call: Call = { url: search ? `${url}?${search}` : url };
  const content = operation.requestBody?.content;
  if (content) {
    const json = content["application/json"];
    if (json) call.body = bodyMode === "empty" ? {} : sample(json.schema, fill);
    else {
      // Not JSON (protobuf, say): an empty body of the declared type.
      call.rawBody = "";
      call.headers = { "content-type": Object.keys(content)[0] ?? "application/octet-stream" };
    }
  }
  return call;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  server = await startTestServer({
    config: {
      exposeDevTokens: true,
      rateLimits: {
        loginFailuresPerEmail: { max: 10_000, windowSeconds: 900 },
        loginFailuresPerIp: { max: 10_000, windowSeconds: 900 },
        registerPerIp: { max: 10_000, windowSeconds: 3600 },
        tokenRequestsPerIp: { max: 10_000, windowSeconds: 60 },
      },
    },
  });
  const response = await server.request("GET", "/api/v1/openapi.json");
  expect(response.status).toBe(200);
  doc = response.body;
  operations = listOperations();
  other = await makeOtherTenant();
});

afterAll(async () => {
  await server?.close();
});

interface Failure {
  operation: string;
  as: string;
  url: string;
  status: number;
  problem: string;
}

function leaks(response: TestResponse, call: Call): string[] {
  const sent = call.url + JSON.stringify(call.body ?? "");
  return other.secrets.filter((secret) => !sent.includes(secret) && response.text.includes(secret));
}

async function send(operation: Operation, call: Call, token?: string): Promise<TestResponse> {
  return server.request(operation.method, call.url, {
    ...(call.body !== undefined ? { body: call.body } : {}),
    ...(call.rawBody !== undefined ? { rawBody: call.rawBody } : {}),
    ...(call.headers ? { headers: call.headers } : {}),
    ...(token ? { token } : {}),
  });
}

describe("OpenAPI walk", () => {
  test("the document lists every operation of this service (the walk cannot pass by walking nothing)", () => {
    const names = operations.map((o) => `${o.method} ${o.path}`);
    for (const expected of [
      "GET /api/v1/accounts/me",
      "GET /api/v1/admin/blocklist/entries",
      "POST /api/v1/admin/blocklist/entries",
      "PATCH /api/v1/admin/blocklist/entries/{id}",
      "GET /api/v1/admin/review-queue",
      "POST /api/v1/admin/review-queue/{domain}/confirm",
      "POST /api/v1/admin/review-queue/{domain}/reject",
      "GET /api/v1/enrollments/{id}/events",
      "GET /api/v1/enrollments/{id}/reports",
      "GET /api/v1/admin/list-sources",
      "POST /api/v1/admin/list-sources/{name}/fetch",
      "DELETE /api/v1/accounts/me/webhooks/{id}",
      "POST /api/v1/accounts/me/webhooks/{id}/test",
    ]) {
      expect(names).toContain(expected);
    }
    expect(other.uuids.length).toBeGreaterThanOrEqual(5);
  });

  test("unauthenticated: 401 on every bearer operation, never a 5xx, never another tenant's data", async () => {
    const failures: Failure[] = [];
    const fill: Fill = { uuid: () => crypto.randomUUID(), int: () => 1, string: () => "walk-probe.example" };
    for (const operation of operations) {
      for (const mode of ["generated", "empty"] as const) {
        const call = buildCall(operation, fill, mode);
        const response = await send(operation, call);
        const name = `${operation.method} ${operation.path}`;
        const fail = (problem: string) =>
          failures.push({
            operation: name,
            as: "anonymous",
            url: call.url,
            status: response.status,
            problem,
          });
        if (response.status >= 500) fail(`5xx: ${response.text.slice(0, 200)}`);
        if (requiresBearer(operation) && response.status !== 401) fail("expected 401");
        for (const secret of leaks(response, call)) fail(`leaks ${secret}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test("wrong tenant: another tenant's ids get 400/403/404, admin routes 403, never a 5xx or a leak", async () => {
    const failures: Failure[] = [];
    let calls = 0;
    for (const operation of operations) {
      // A fresh account per operation: an operation may end its caller's session (logout, account deletion).
      const caller: SignedInAccount = await signInAs(server, "user");
      const name = `${operation.method} ${operation.path}`;
      const pathParameters = operation.parameters.filter((p) => p.in === "path");
      const hasUuidPath = pathParameters.some((p) => resolve(p.schema).format === "uuid");
      const variants = Math.max(
        1,
        pathParameters.length > 0
          ? Math.max(other.uuids.length, other.ints.length, other.domains.length)
          : other.uuids.length,
      );
      for (let i = 0; i < variants; i++) {
        const fill: Fill = {
          uuid: () => other.uuids[i % other.uuids.length] as string,
          int: () => other.ints[i % other.ints.length] as number,
          string: () => other.domains[i % other.domains.length] as string,
        };
        for (const mode of ["generated", "empty"] as const) {
          const call = buildCall(operation, fill, mode);
          const response = await send(operation, call, caller.accessToken);
          calls++;
          const fail = (problem: string) =>
            failures.push({
              operation: name,
              as: "wrong tenant",
              url: call.url,
              status: response.status,
              problem,
            });
          if (response.status >= 500) fail(`5xx: ${response.text.slice(0, 200)}`);
          for (const secret of leaks(response, call)) fail(`leaks ${secret}`);
          if (!requiresBearer(operation)) continue;
          if (operation.path.startsWith("/api/v1/admin/")) {
            if (response.status !== 403) fail("expected 403 for a non-admin");
          } else if (hasUuidPath && ![400, 403, 404].includes(response.status)) {
            fail("another tenant's id in the path must give 400, 403 or 404");
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(operations.length);
    expect(failures).toEqual([]);
  });
});
