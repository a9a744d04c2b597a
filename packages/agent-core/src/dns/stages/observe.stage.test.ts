import { describe, expect, it } from "vitest";
import type { DnsAnswer, DnsQuery, DnsStage } from "../query";
import { ObserveStage } from "./observe.stage";

const answer = new Uint8Array([1]) as unknown as DnsAnswer;
const next: DnsStage = { resolve: () => answer };
const query = { name: () => "casino.example" } as unknown as DnsQuery;

describe("ObserveStage", () => {
  it("shows the name to the observer, then passes the query on", () => {
    const seen: string[] = [];
    const stage = new ObserveStage(next, { current: (name) => seen.push(name) });
    expect(stage.resolve(query)).toBe(answer);
    expect(seen).toEqual(["casino.example"]);
  });

  it("without an observer just passes on, and a throwing observer does not break resolution", () => {
    expect(new ObserveStage(next, { current: null }).resolve(query)).toBe(answer);
    const throwing = new ObserveStage(next, {
      current: () => {
        throw new Error("boom");
      },
    });
    expect(throwing.resolve(query)).toBe(answer);
  });
});
