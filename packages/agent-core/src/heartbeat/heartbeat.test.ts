import {
  AggregationLevel,
  BlockResponse,
  create,
  type HeartbeatRequest,
  HeartbeatResponseSchema,
  type MessageInitShape,
  TamperType,
} from "@betblocker/proto";
import { describe, expect, test } from "vitest";
import type { DeviceApiClient } from "../api-client/api-client";
import { DeviceApiError } from "../api-client/api-client";
import { type AppliedConfig, HeartbeatLoop } from "./heartbeat";

function stubClient(
  answer: (request: HeartbeatRequest) => MessageInitShape<typeof HeartbeatResponseSchema> | Error,
): { client: DeviceApiClient; requests: HeartbeatRequest[] } {
  const requests: HeartbeatRequest[] = [];
  const client = {
    heartbeat: async (request: HeartbeatRequest) => {
      requests.push(request);
      const result = answer(request);
      if (result instanceof Error) throw result;
      return create(HeartbeatResponseSchema, result);
    },
  } as unknown as DeviceApiClient;
  return { client, requests };
}

describe("HeartbeatLoop", () => {
  test("applies the response config live, takes its interval, and asks for a sync when a newer list exists", async () => {
    const applied: AppliedConfig[] = [];
    const newer: number[] = [];
    let blocked = 10;
    const { client, requests } = stubClient(() => ({
      latestBlocklistVersion: 8,
      config: {
        heartbeatIntervalSeconds: 60,
        dns: { blockResponse: BlockResponse.NXDOMAIN, blockDoh: true, blockDot: true },
        reporting: { aggregationLevel: AggregationLevel.DETAILED },
      },
    }));
    const loop = new HeartbeatLoop({
      client: () => client,
      intervalSeconds: 300,
      source: {
        agentVersion: "1.0.0",
        osVersion: "Debian 12",
        blocklistVersion: () => 7,
        blockedTotal: () => blocked,
        queuedEvents: () => 2,
      },
      onConfig: (config) => applied.push(config),
      onNewerBlocklist: (version) => newer.push(version),
    });
    await loop.beat();
    expect(loop.interval).toBe(60);
    expect(applied[0]?.protection.heartbeat_interval_seconds).toBe(60);
    expect(applied[0]?.reporting.aggregation_level).toBe("detailed");
    expect(newer).toEqual([8]);
    expect(requests[0]).toMatchObject({ blocklistVersion: 7, blocksSinceLast: 10, queuedEvents: 2 });
    blocked = 15;
    await loop.beat();
    expect(requests[1]?.blocksSinceLast).toBe(5);
  });

  test("reports tamper types since the last accepted heartbeat and clears them only after success", async () => {
    let fail = true;
    let pending: TamperType[] = [TamperType.LIST_SIGNATURE_INVALID, TamperType.LIST_SIGNATURE_INVALID];
    const { client, requests } = stubClient(() =>
      fail ? new DeviceApiError("server", "503", 503) : { latestBlocklistVersion: 1 },
    );
    const loop = new HeartbeatLoop({
      client: () => client,
      intervalSeconds: 300,
      source: {
        agentVersion: "1",
        osVersion: "x",
        blocklistVersion: () => 1,
        blockedTotal: () => 0,
        queuedEvents: () => 0,
        tamperTypes: () => pending,
        tamperReported: (count) => {
          pending = pending.slice(count);
        },
      },
      onConfig: () => {},
      onNewerBlocklist: () => {},
    });
    await loop.beat();
    expect(pending).toHaveLength(2);
    fail = false;
    await loop.beat();
    expect(requests[1]?.tamper).toMatchObject({
      integrityOk: false,
      tamperEventsSinceLast: 2,
      types: [TamperType.LIST_SIGNATURE_INVALID],
    });
    expect(pending).toHaveLength(0);
    await loop.beat();
    expect(requests[2]?.tamper?.integrityOk).toBe(true);
  });

  test("blocks are counted as reported only once a heartbeat succeeded", async () => {
    let fail = true;
    const { client, requests } = stubClient(() =>
      fail ? new DeviceApiError("network", "down") : { latestBlocklistVersion: 1 },
    );
    const errors: Error[] = [];
    const loop = new HeartbeatLoop({
      client: () => client,
      intervalSeconds: 300,
      source: {
        agentVersion: "1",
        osVersion: "x",
        blocklistVersion: () => 1,
        blockedTotal: () => 4,
        queuedEvents: () => 0,
      },
      onConfig: () => {},
      onNewerBlocklist: () => {},
      onError: (error) => errors.push(error),
    });
    expect(await loop.beat()).toBeNull();
    expect(errors).toHaveLength(1);
    fail = false;
    await loop.beat();
    expect(requests[1]?.blocksSinceLast).toBe(4);
    expect(loop.interval).toBe(300);
  });
});
