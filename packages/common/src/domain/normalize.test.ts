import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkNormalizedName,
  isNormalizedDomain,
  isReservedName,
  isSameOrSubdomainOf,
  isSubdomainOf,
  normalizeDomain,
} from "./normalize";

function normalized(input: string, allowSingleLabel = false): string {
  const result = normalizeDomain(input, { allowSingleLabel });
  if (!result.ok) throw new Error(`expected ${JSON.stringify(input)} to normalize, got: ${result.reason}`);
  return result.domain;
}

function rejection(input: string, allowSingleLabel = false): string {
  const result = normalizeDomain(input, { allowSingleLabel });
  if (result.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected, got ${result.domain}`);
  return result.reason;
}

/** An independent statement of the output contract, written with regular expressions only. */
function satisfiesOutputContract(domain: string): boolean {
  const labels = domain.split(".");
  const topLevelLabel = labels[labels.length - 1] ?? "";
  return (
    domain.length <= 253 &&
    labels.length >= 2 &&
    labels.every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)) &&
    /^[a-z0-9-]+$/.test(topLevelLabel) &&
    !/^[0-9]+$/.test(topLevelLabel)
  );
}

describe("normalizeDomain accepts and canonicalizes", () => {
  it.each([
    ["example.com", "example.com"],
    ["EXAMPLE.COM", "example.com"],
    ["Sub.Example.Com", "sub.example.com"],
    ["example.com.", "example.com"],
    ["  example.com \t", "example.com"],
    ["bücher.de", "xn--bcher-kva.de"],
    ["BÜCHER.DE", "xn--bcher-kva.de"],
    ["xn--bcher-kva.de", "xn--bcher-kva.de"],
    ["XN--BCHER-KVA.DE", "xn--bcher-kva.de"],
    ["münchen.de.", "xn--mnchen-3ya.de"],
    ["日本.jp", "xn--wgv71a.jp"],
    ["faß.de", "xn--fa-hia.de"], // UTS #46 non-transitional: ß is kept, not mapped to "ss"
    ["ＥＸＡＭＰＬＥ.com", "example.com"], // full-width letters map to ASCII
    ["example。com", "example.com"], // ideographic full stop is a label separator in UTS #46
    ["bet365.com", "bet365.com"],
    ["123bet.com", "123bet.com"],
    ["1.2.3.4.com", "1.2.3.4.com"], // numeric labels are fine while the TLD is not numeric
    ["a-b.c-d.com", "a-b.c-d.com"],
    ["ab--cd.com", "ab--cd.com"],
    // "_" is allowed below the top level: DNS permits it (RFC 2181 section 11) and real gambling hosts use it.
    ["rr88_shortlink.rr88tino.workers.dev", "rr88_shortlink.rr88tino.workers.dev"],
    ["NNBNPDK_DEU.126002.com", "nnbnpdk_deu.126002.com"],
    ["a.b.c.d.e.f.g.example.co.uk", "a.b.c.d.e.f.g.example.co.uk"],
    ["x.xn--p1ai", "x.xn--p1ai"],
    ["example.localdomain", "example.localdomain"], // only localhost.localdomain itself is reserved
    [`${"a".repeat(63)}.com`, `${"a".repeat(63)}.com`],
  ])("%j -> %j", (input, expected) => {
    expect(normalized(input)).toBe(expected);
  });

  it("accepts a name of exactly 253 characters", () => {
    const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`;
    expect(name).toHaveLength(253);
    expect(normalized(name)).toBe(name);
  });

  it("accepts single-label names only when asked to", () => {
    expect(rejection("intranet")).toBe("single-label name (no dot)");
    expect(normalized("Intranet", true)).toBe("intranet");
    expect(normalized("intranet.", true)).toBe("intranet");
  });
});

describe("normalizeDomain rejects with a short reason", () => {
  it.each([
    ["", "empty name"],
    ["   ", "empty name"],
    [".", "empty name (only the root dot)"],
    ["example..com", "empty label"],
    [".example.com", "empty label"],
    ["example.com..", "empty label"],
    ["example.co_m", "invalid character '_' in top-level label"],
    ["a!b.com", "invalid character '!'"],
    ["ex ample.com", "invalid character ' '"],
    ["a\tb.com", "invalid character U+0009"],
    ["example.com/path", "invalid character '/'"],
    ["a／b.com", "invalid character '／'"], // full-width solidus would become "/" under IDNA
    ["user@example.com", "invalid character '@'"],
    ["example.com:443", "invalid character ':'"],
    ["*.example.com", "invalid character '*'"],
    ["exa%mple.com", "invalid character '%'"],
    [`${"a".repeat(64)}.com`, "label longer than 63 characters"],
    ["-example.com", "label '-example' starts or ends with a hyphen"],
    ["example-.com", "label 'example-' starts or ends with a hyphen"],
    ["1.2.3.4", "IP address, not a domain"],
    ["255.255.255.255", "IP address, not a domain"],
    ["127.1", "IP address, not a domain"],
    ["::1", "IP address, not a domain"],
    ["[2001:db8::1]", "IP address, not a domain"],
    ["fe80::1", "IP address, not a domain"],
    ["example.123", "top-level label is all-numeric"],
    ["a.0x1f", "top-level label is all-numeric"],
    ["localhost", "reserved name"],
    ["LOCALHOST.", "reserved name"],
    ["localhost.localdomain", "reserved name"],
    ["printer.local", "reserved name"],
    ["app.localhost", "reserved name"],
    ["x.invalid", "reserved name"],
    ["xn--zz.com", "invalid punycode label 'xn--zz'"],
    ["\u0301a.com", "not a valid internationalized domain name (UTS #46)"], // label starts with a combining mark
  ])("%j: %s", (input, reason) => {
    expect(rejection(input)).toBe(reason);
  });

  it("rejects names longer than 253 characters", () => {
    const name = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(62)}`;
    expect(rejection(name)).toBe("longer than 253 characters");
    expect(rejection("a.".repeat(600) + "com")).toBe("longer than 253 characters");
  });

  it("rejects reserved single-label names even when single labels are allowed", () => {
    expect(rejection("localhost", true)).toBe("reserved name");
    expect(rejection("broadcasthost", true)).toBe("reserved name");
    expect(rejection("ip6-loopback", true)).toBe("reserved name");
  });
});

describe("helpers", () => {
  it("isReservedName", () => {
    expect(isReservedName("localhost")).toBe(true);
    expect(isReservedName("foo.local")).toBe(true);
    expect(isReservedName("local.example.com")).toBe(false);
    expect(isReservedName("localhost.example.com")).toBe(false);
  });

  it("checkNormalizedName refuses names that are not already normalized", () => {
    expect(checkNormalizedName("example.com")).toBeUndefined();
    expect(checkNormalizedName("Example.com")).toBe("invalid character 'E'");
    expect(checkNormalizedName("example.com.")).toBe("empty label");
    expect(isNormalizedDomain("bücher.de")).toBe(false);
    expect(isNormalizedDomain("xn--bcher-kva.de")).toBe(true);
  });

  it("isSubdomainOf is strict and label-aligned", () => {
    expect(isSubdomainOf("a.example.com", "example.com")).toBe(true);
    expect(isSubdomainOf("a.b.example.com", "example.com")).toBe(true);
    expect(isSubdomainOf("example.com", "example.com")).toBe(false);
    expect(isSubdomainOf("badexample.com", "example.com")).toBe(false);
    expect(isSubdomainOf("example.com", "a.example.com")).toBe(false);
    expect(isSubdomainOf(".example.com", "example.com")).toBe(false);
    expect(isSameOrSubdomainOf("example.com", "example.com")).toBe(true);
    expect(isSameOrSubdomainOf("www.example.com", "example.com")).toBe(true);
    expect(isSameOrSubdomainOf("example.org", "example.com")).toBe(false);
  });
});

describe("normalizeDomain properties", () => {
  // Mixes plausible names, Unicode, punctuation and separators so both branches are exercised.
  const nameLike = fc.oneof(
    fc.domain(),
    fc.webUrl().map((url) => new URL(url).hostname),
    fc.string({ unit: fc.constantFrom(..."abcXYZ019-._*ü日ß。．／ \t".split("")), maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 30 }),
    fc.tuple(fc.domain(), fc.constantFrom("", ".", "..", " ", "。")).map(([name, suffix]) => name + suffix),
  );

  it("is idempotent: a normalized name normalizes to itself", () => {
    fc.assert(
      fc.property(nameLike, fc.boolean(), (input, allowSingleLabel) => {
        const first = normalizeDomain(input, { allowSingleLabel });
        if (!first.ok) return;
        expect(normalizeDomain(first.domain, { allowSingleLabel })).toEqual(first);
      }),
      { numRuns: 3000 },
    );
  });

  it("every accepted name satisfies the output contract", () => {
    fc.assert(
      fc.property(nameLike, (input) => {
        const result = normalizeDomain(input);
        if (result.ok) expect(satisfiesOutputContract(result.domain), result.domain).toBe(true);
        else expect(result.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it("accepts generated RFC 1123 names (unless reserved) and ignores case and one trailing dot", () => {
    fc.assert(
      fc.property(fc.domain(), fc.boolean(), (domain, trailingDot) => {
        const input = domain.toUpperCase() + (trailingDot ? "." : "");
        const result = normalizeDomain(input);
        if (isReservedName(domain)) expect(result).toEqual({ ok: false, reason: "reserved name" });
        else expect(result).toEqual({ ok: true, domain: domain.toLowerCase() });
      }),
      { numRuns: 2000 },
    );
  });

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (input) => {
        normalizeDomain(input);
      }),
      { numRuns: 2000 },
    );
  });
});
