import { describe, expect, it } from "vitest";
import type { DeviceApiClient } from "../api-client/api-client";
import { FederatedReporter } from "./federated-reporter";

type Batch = { batchId: string; reports: { domain: string; score: number }[] };

function fakeClient(failures = 0) {
  const batches: Batch[] = [];
  let left = failures;
  const client = {
    async sendFederatedReports(batch: Batch) {
      batches.push(batch);
      if (left-- > 0) throw new Error("unreachable");
      return { accepted: batch.reports.length, duplicates: 0, rejected: [] };
    },
  } as unknown as DeviceApiClient;
  return { client, batches };
}

describe("FederatedReporter", () => {
  it("reports names the shared classifier flags, once each, and nothing while disabled", async () => {
    const reporter = new FederatedReporter();
    reporter.observe("best-online-casino-slots.example");
    expect(reporter.queued).toBe(0); // disabled by default until the config says so
    reporter.setEnabled(true);
    for (const name of [
      "best-online-casino-slots.example",
      "best-online-casino-slots.example",
      "example.org",
      "wikipedia.org",
    ]) {
      reporter.observe(name);
    }
    const { client, batches } = fakeClient();
    expect(await reporter.flush(client)).toEqual({ sent: 1 });
    expect(batches).toHaveLength(1);
    expect(batches[0]?.reports.map((r) => r.domain)).toEqual(["best-online-casino-slots.example"]);
    expect(batches[0]?.reports[0]?.score).toBeGreaterThanOrEqual(0.53);
    expect(batches[0]?.reports[0]?.score).toBeLessThanOrEqual(1);
  });

  it("resends a failed batch with the same batch id", async () => {
    const reporter = new FederatedReporter({ classify: () => 90 });
    reporter.setEnabled(true);
    reporter.observe("a.example");
    const { client, batches } = fakeClient(1);
    expect(await reporter.flush(client)).toMatchObject({ error: expect.any(Error) });
    expect(reporter.queued).toBe(1);
    expect(await reporter.flush(client)).toEqual({ sent: 1 });
    expect(batches.map((b) => b.batchId)).toEqual([batches[0]?.batchId, batches[0]?.batchId]);
    expect(reporter.queued).toBe(0);
  });

  it("is rate-limited per hour and bounded in memory", () => {
    let now = 0;
    const reporter = new FederatedReporter({
      classify: () => 99,
      maxPerHour: 3,
      maxPending: 2,
      now: () => now,
    });
    reporter.setEnabled(true);
    for (let i = 0; i < 10; i++) reporter.observe(`casino${i}.example`);
    expect(reporter.queued).toBe(2);
    expect(reporter.dropped).toBe(8);
    now += 3_600_001;
    reporter.observe("casino-later.example");
    expect(reporter.queued).toBe(2);
  });

  it("turning federated reporting off drops what was not sent", () => {
    const reporter = new FederatedReporter({ classify: () => 99 });
    reporter.setEnabled(true);
    reporter.observe("x.example");
    reporter.setEnabled(false);
    expect(reporter.queued).toBe(0);
  });
});
