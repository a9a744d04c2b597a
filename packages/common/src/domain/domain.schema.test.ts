import { describe, expect, it } from "vitest";
import { domainInputSchema, normalizedDomainSchema } from "./domain.schema";

describe("domain schemas", () => {
  it("normalizedDomainSchema accepts only names already in normal form", () => {
    expect(normalizedDomainSchema.parse("xn--bcher-kva.de")).toBe("xn--bcher-kva.de");
    expect(normalizedDomainSchema.safeParse("bücher.de").error?.issues[0]?.message).toBe(
      'must be a normalized domain name (lower-case, punycode, no trailing dot): "xn--bcher-kva.de"',
    );
    expect(normalizedDomainSchema.safeParse("localhost").error?.issues[0]?.message).toBe(
      "not a valid domain name: reserved name",
    );
    expect(normalizedDomainSchema.safeParse(42).success).toBe(false);
  });

  it("domainInputSchema normalizes any valid spelling", () => {
    expect(domainInputSchema.parse(" Bücher.DE. ")).toBe("xn--bcher-kva.de");
    expect(domainInputSchema.safeParse("a..b").error?.issues[0]?.message).toBe(
      "not a valid domain name: empty label",
    );
  });
});
