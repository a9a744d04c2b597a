import { describe, expect, it } from "vitest";
import { FakeStage, makeQuery } from "../testing";
import { GateStage } from "./gate.stage";

describe("GateStage", () => {
  it("holds queries until opened, then answers them in order; passes straight through afterwards", async () => {
    const next = new FakeStage((query) => Buffer.from(query.name()));
    const gate = new GateStage(next);
    const first = gate.resolve(makeQuery("one.example"));
    const second = gate.resolve(makeQuery("two.example"));
    expect(next.seen).toEqual([]);
    gate.openGate();
    expect((await first)?.toString()).toBe("one.example");
    expect((await second)?.toString()).toBe("two.example");
    expect(gate.resolve(makeQuery("three.example"))).toEqual(Buffer.from("three.example"));
  });

  it("drops queries beyond its bound while closed", () => {
    const gate = new GateStage(new FakeStage(), 1);
    expect(gate.resolve(makeQuery("a.example"))).toBeInstanceOf(Promise);
    expect(gate.resolve(makeQuery("b.example"))).toBeNull();
  });
});
