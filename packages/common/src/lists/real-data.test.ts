/**
 * The parsers against the real public lists in ../shared/data (outside the repository by design,
 * see SOURCES.md there). Skipped, with the path in the test name, when the files are absent.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseList } from "./list-parser";

const dataDirectory = fileURLToPath(new URL("../../../../../shared/data/", import.meta.url));
const gamblingDomainsPath = `${dataDirectory}gambling-domains.csv`;
const helpResourcesPath = `${dataDirectory}help-resources.txt`;

describe.skipIf(!existsSync(gamblingDomainsPath))(
  `real data: gambling-domains.csv (skipped when ${gamblingDomainsPath} is missing)`,
  () => {
    it("parses all 68,337 rows as entries with no rejects, well under a few seconds", () => {
      const text = readFileSync(gamblingDomainsPath, "utf8");
      const started = performance.now();
      const parsed = parseList("csv", text);
      const elapsedMilliseconds = performance.now() - started;

      expect(parsed.rejects.slice(0, 5)).toEqual([]); // empty iff no rejects; shows the first few otherwise
      expect(parsed.entries).toHaveLength(68_337);
      expect(parsed.skipped).toBe(1); // the header
      expect(elapsedMilliseconds).toBeLessThan(2_000);

      // The file is normalized already: every value comes back unchanged, as a domain, with its category.
      const rows = text.trimEnd().split("\n").slice(1);
      parsed.entries.forEach((entry, index) => {
        const [domain, category] = (rows[index] ?? "").split(",");
        if (entry.rule.value !== domain || entry.rule.category !== category || entry.rule.type !== "domain") {
          expect(entry.rule).toEqual({ type: "domain", value: domain, category });
        }
      });
      const categories = new Set(parsed.entries.map((entry) => entry.rule.category));
      expect([...categories].sort()).toEqual([
        "bingo",
        "casino",
        "lottery",
        "other",
        "poker",
        "sports_betting",
      ]);
    });
  },
);

describe.skipIf(!existsSync(helpResourcesPath))(
  `real data: help-resources.txt (skipped when ${helpResourcesPath} is missing)`,
  () => {
    it("parses as 16 domain entries", () => {
      const parsed = parseList("domains", readFileSync(helpResourcesPath, "utf8"));
      expect(parsed.rejects).toEqual([]);
      expect(parsed.entries).toHaveLength(16);
      expect(parsed.entries.every((entry) => entry.rule.type === "domain")).toBe(true);
      expect(parsed.entries.map((entry) => entry.rule.value)).toContain("gamcare.org.uk");
    });
  },
);
