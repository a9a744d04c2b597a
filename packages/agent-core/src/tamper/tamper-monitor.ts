/**
 * TamperMonitor: runs the tamper and bypass checks on a timer and turns what they find into events.
 *
 * Contracts:
 * - ONE event per incident. Each check reports a set of condition keys (e.g. the names of the VPN
 *   interfaces up); only keys not present at the previous check produce an event. A key that is found
 *   again is the same incident; once a check no longer finds it, it is cleared, and its return is a new
 *   incident. With `enforce`, a repaired resolver / firewall stays the same incident until a check finds
 *   it intact without repair, so an attacker (or a tool) undoing the repair every minute is one event,
 *   not one per check.
 * - Any event recorded in a check -> `sink.alertNow()` once at the end of that check.
 * - A check that throws (UnsupportedOperationError, I/O error) is logged once per distinct error and
 *   skipped; the other checks and the timer go on. Its incident state is kept (unknown is not "clear").
 * - Checks never overlap: a timer tick while a check runs is skipped; `checkNow()` waits its turn.
 * - Event details hold no domain name (counts, file paths and interface names only).
 */
import type { KeyObject } from "node:crypto";
import { BypassMethod, TamperType } from "@betblocker/proto";
import type { VerifyResult } from "../blocklist/blocklist-store";
import { type FirewallCounters, type PlatformBridge, UnsupportedOperationError } from "../platform";
import { FileHasher, sha256Text } from "./file-hash";
import { findHostsOverrides } from "./hosts-file";
import { describeVpnInterface, vpnInterfacesUp } from "./interfaces";
import { checkFiles, type Manifest, verifyManifest } from "./manifest";

export interface TamperSink {
  recordTamper(type: TamperType, details: string, expectedHash?: string, actualHash?: string): void;
  recordBypass(method: BypassMethod, details: string): void;
  /** Deliver alert events now instead of at the next flush. */
  alertNow(): void;
}

export interface TamperMonitorOptions {
  bridge: PlatformBridge;
  sink: TamperSink;
  intervalMs: number;
  /** Re-apply the resolver and firewall when found changed. */
  enforce: boolean;
  /** Whether the blocklist blocks `name`; null while no list is loaded (the hosts check waits). */
  listed: (name: string) => boolean | null;
  integrity?: {
    /** The signed manifest's text; null when it is gone (reported as tampering). */
    manifestText: () => string | null;
    publicKey: KeyObject;
    rootDir: string;
  };
  configFile?: {
    path: string;
    /** SHA-256 (hex) of the config as the agent accepted it; null: nothing to compare yet. */
    expectedSha256: () => string | null;
    /** Put the accepted config back (called after CONFIG_ALTERED is detected). */
    restore?: () => void;
  };
  listFile?: { verify: () => VerifyResult };
  log?: (message: string) => void;
  now?: () => number;
}

export type CheckName =
  | "resolver"
  | "firewall"
  | "firewall_counters"
  | "interfaces"
  | "hosts_file"
  | "integrity"
  | "config_file"
  | "list_file";

export interface CheckResult {
  check: CheckName;
  /**
   * ok: nothing found; found: a condition is present (reported now or earlier in the same incident);
   * skipped: not configured or not ready (no list yet...); unsupported: the platform cannot do it;
   * error: the check threw.
   */
  status: "ok" | "found" | "skipped" | "unsupported" | "error";
  /** For `betblocker-agent status`; no domain names. */
  details: string;
  /** Events recorded by this check in this run. */
  events: number;
}

export interface CheckReport {
  startedAt: number;
  durationMs: number;
  checks: CheckResult[];
  /** Total events recorded in this run (alertNow was called when > 0). */
  events: number;
}

type Outcome = { status: CheckResult["status"]; details: string; keys?: Set<string> | undefined };

interface CheckContext {
  /** Keys present at the previous check that found anything (empty at first). */
  previous: ReadonlySet<string>;
  /** Record an event for this check (counted into the report). */
  event(record: () => void): void;
}

const OK: Outcome = { status: "ok", details: "", keys: new Set() };

export class TamperMonitor {
  private readonly now: () => number;
  private readonly log: (message: string) => void;
  private readonly hasher: FileHasher;
  private readonly incidents = new Map<CheckName, Set<string>>();
  private readonly loggedErrors = new Map<CheckName, string>();
  private counterBaseline: FirewallCounters | null = null;
  private manifestCache: { text: string; manifest: Manifest } | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  private report: CheckReport | null = null;

  constructor(private readonly options: TamperMonitorOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    this.hasher = new FileHasher(this.now);
  }

  /** The last completed run (null before the first). */
  get lastReport(): CheckReport | null {
    return this.report;
  }

  /** Run a check now, then every `intervalMs`. Idempotent. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    // The DNS server keeps the process alive; the monitor alone must not.
    this.timer.unref?.();
    this.tick();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Run every check once (after any run in progress) and return what was found. */
  checkNow(): Promise<CheckReport> {
    this.inFlight += 1;
    const run = this.chain.then(() => this.runAll());
    this.chain = run
      .catch(() => undefined)
      .finally(() => {
        this.inFlight -= 1;
      });
    return run;
  }

  private tick(): void {
    if (this.inFlight > 0) return; // the previous run is slow: skip this tick rather than pile up
    this.checkNow().catch((error: unknown) =>
      this.log(`tamper check run failed: ${(error as Error).message}`),
    );
  }

  private async runAll(): Promise<CheckReport> {
    const startedAt = this.now();
    const checks: CheckResult[] = [];
    const steps: [CheckName, (context: CheckContext) => Promise<Outcome>][] = [
      ["resolver", (context) => this.checkResolver(context)],
      ["firewall", (context) => this.checkFirewall(context)],
      ["firewall_counters", (context) => this.checkCounters(context)],
      ["interfaces", (context) => this.checkInterfaces(context)],
      ["hosts_file", (context) => this.checkHostsFile(context)],
      ["integrity", (context) => this.checkIntegrity(context)],
      ["config_file", (context) => this.checkConfigFile(context)],
      ["list_file", (context) => this.checkListFile(context)],
    ];
    for (const [check, run] of steps) checks.push(await this.runOne(check, run));
    const events = checks.reduce((sum, result) => sum + result.events, 0);
    if (events > 0) {
      try {
        this.options.sink.alertNow();
      } catch (error) {
        this.log(`could not send tamper alerts now: ${(error as Error).message}`);
      }
    }
    this.report = { startedAt, durationMs: this.now() - startedAt, checks, events };
    return this.report;
  }

  private async runOne(
    check: CheckName,
    run: (context: CheckContext) => Promise<Outcome>,
  ): Promise<CheckResult> {
    let events = 0;
    const context: CheckContext = {
      previous: this.incidents.get(check) ?? new Set(),
      event: (record) => {
        record();
        events += 1;
      },
    };
    try {
      const outcome = await run(context);
      this.loggedErrors.delete(check);
      // Skipped checks keep their incident state: not looking is not "cleared".
      if (outcome.keys) this.incidents.set(check, outcome.keys);
      return { check, status: outcome.status, details: outcome.details, events };
    } catch (error) {
      const unsupported = error instanceof UnsupportedOperationError;
      const message = (error as Error).message;
      if (this.loggedErrors.get(check) !== message) {
        this.loggedErrors.set(check, message);
        this.log(`tamper check ${check} ${unsupported ? "unavailable" : "failed"}: ${message}`);
      }
      return { check, status: unsupported ? "unsupported" : "error", details: message, events };
    }
  }

  private async checkResolver(context: CheckContext): Promise<Outcome> {
    const { bridge } = this.options;
    return this.checkEnforced(
      context,
      () => bridge.resolverStatus(),
      () => bridge.applyResolver(),
      (details) => this.options.sink.recordTamper(TamperType.RESOLVER_CHANGED, details),
      "system resolver",
    );
  }

  private async checkFirewall(context: CheckContext): Promise<Outcome> {
    const { bridge } = this.options;
    return this.checkEnforced(
      context,
      () => bridge.firewallStatus(),
      async () => {
        await bridge.applyFirewall();
        // Re-applied rules start their counters at zero: take a new baseline.
        this.counterBaseline = null;
      },
      (details) => this.options.sink.recordTamper(TamperType.FIREWALL_FLUSHED, details),
      "firewall rules",
    );
  }

  /** Status check + optional repair; the details say whether the repair worked. */
  private async checkEnforced(
    context: CheckContext,
    status: () => Promise<{ intact: boolean; details: string }>,
    apply: () => Promise<void>,
    record: (details: string) => void,
    what: string,
  ): Promise<Outcome> {
    const found = await status();
    if (found.intact) return OK;
    let details = found.details || `${what} changed`;
    if (this.options.enforce) {
      try {
        await apply();
        const after = await status();
        details += after.intact ? "; restored" : `; still not intact after re-applying (${after.details})`;
      } catch (error) {
        details += `; restoring failed: ${(error as Error).message}`;
      }
    }
    if (!context.previous.has("changed")) context.event(() => record(details));
    return { status: "found", details, keys: new Set(["changed"]) };
  }

  private async checkCounters(context: CheckContext): Promise<Outcome> {
    const counters = await this.options.bridge.firewallCounters();
    const baseline = this.counterBaseline;
    this.counterBaseline = counters;
    if (!baseline) return { status: "ok", details: "baseline taken", keys: new Set() };
    const keys = new Set<string>();
    const found: string[] = [];
    // A lower value means the rules were re-created (counters reset): it is only a new baseline.
    const dot = counters.rejectedDot - baseline.rejectedDot;
    if (dot > 0) {
      keys.add("dot");
      const details = `${dot} DNS-over-TLS connection attempt${dot === 1 ? "" : "s"} (port 853) rejected`;
      found.push(details);
      if (!context.previous.has("dot")) {
        context.event(() => this.options.sink.recordBypass(BypassMethod.DOT_ATTEMPT, details));
      }
    }
    const direct = counters.redirectedDns - baseline.redirectedDns;
    if (direct > 0) {
      keys.add("direct");
      const details = `${direct} ${direct === 1 ? "query" : "queries"} to another DNS server redirected to the agent`;
      found.push(details);
      if (!context.previous.has("direct")) {
        context.event(() => this.options.sink.recordBypass(BypassMethod.DIRECT_DNS, details));
      }
    }
    return found.length === 0 ? OK : { status: "found", details: found.join("; "), keys };
  }

  private async checkInterfaces(context: CheckContext): Promise<Outcome> {
    const vpns = vpnInterfacesUp(await this.options.bridge.listInterfaces());
    if (vpns.length === 0) return OK;
    for (const info of vpns) {
      if (!context.previous.has(info.name)) {
        context.event(() =>
          this.options.sink.recordBypass(BypassMethod.VPN_DETECTED, describeVpnInterface(info)),
        );
      }
    }
    return {
      status: "found",
      details: vpns.map(describeVpnInterface).join("; "),
      keys: new Set(vpns.map((info) => info.name)),
    };
  }

  private async checkHostsFile(context: CheckContext): Promise<Outcome> {
    const { listed } = this.options;
    const text = await this.options.bridge.readHostsFile();
    let noList = false;
    const report = findHostsOverrides(text, (name) => {
      const answer = listed(name);
      if (answer === null) noList = true;
      return answer === true;
    });
    if (noList) return { status: "skipped", details: "no blocklist loaded yet" };
    if (report.overrides.length === 0) return OK;
    // Keys hold names: they stay in memory, never in an event.
    const keys = new Set(report.overrides.map((override) => `${override.name} ${override.address}`));
    if ([...keys].some((key) => !context.previous.has(key))) {
      context.event(() => this.options.sink.recordBypass(BypassMethod.HOSTS_FILE_OVERRIDE, report.details));
    }
    return { status: "found", details: report.details, keys };
  }

  private async checkIntegrity(context: CheckContext): Promise<Outcome> {
    const integrity = this.options.integrity;
    if (!integrity) return { status: "skipped", details: "no signed manifest configured" };
    const text = integrity.manifestText();
    const tamper = (key: string, details: string, expected = "", actual = ""): Outcome => {
      if (!context.previous.has(key)) {
        context.event(() =>
          this.options.sink.recordTamper(TamperType.BINARY_MODIFIED, details, expected, actual),
        );
      }
      return { status: "found", details, keys: new Set([key]) };
    };
    if (text === null) return tamper("manifest-missing", "the signed integrity manifest is missing");
    let manifest: Manifest;
    if (this.manifestCache?.text === text) {
      manifest = this.manifestCache.manifest;
    } else {
      try {
        manifest = verifyManifest(text, integrity.publicKey);
        this.manifestCache = { text, manifest };
      } catch (error) {
        this.manifestCache = null;
        return tamper(
          `manifest-invalid ${sha256Text(text)}`,
          `integrity manifest rejected: ${(error as Error).message}`,
        );
      }
    }
    const mismatches = await checkFiles(manifest, integrity.rootDir, this.hasher);
    if (mismatches.length === 0) return OK;
    const keys = new Set(mismatches.map((mismatch) => `${mismatch.path} ${mismatch.actualSha256}`));
    const fresh = mismatches.filter(
      (mismatch) => !context.previous.has(`${mismatch.path} ${mismatch.actualSha256}`),
    );
    const first = fresh[0] ?? mismatches[0];
    const count = mismatches.length;
    const details =
      `${count} installed file${count === 1 ? "" : "s"} differ${count === 1 ? "s" : ""} from the signed manifest ` +
      `(${mismatches
        .slice(0, 5)
        .map((mismatch) => `${mismatch.path} ${mismatch.actualSha256 === "missing" ? "missing" : "changed"}`)
        .join(", ")}${count > 5 ? ", ..." : ""})`;
    if (fresh.length > 0 && first) {
      context.event(() =>
        this.options.sink.recordTamper(
          TamperType.BINARY_MODIFIED,
          details,
          first.expectedSha256,
          first.actualSha256 === "missing" ? "" : first.actualSha256,
        ),
      );
    }
    return { status: "found", details, keys };
  }

  private async checkConfigFile(context: CheckContext): Promise<Outcome> {
    const config = this.options.configFile;
    if (!config) return { status: "skipped", details: "no config file configured" };
    const expected = config.expectedSha256();
    if (expected === null) return { status: "skipped", details: "no accepted config yet" };
    const digest = await this.hasher.digest(config.path);
    const actual = digest?.sha256 ?? "";
    if (actual === expected.toLowerCase()) return OK;
    let details = digest
      ? `config file ${config.path} was altered`
      : `config file ${config.path} was deleted`;
    if (config.restore) {
      try {
        config.restore();
        const after = await this.hasher.digest(config.path);
        details +=
          after?.sha256 === expected.toLowerCase() ? "; restored" : "; restoring did not bring it back";
      } catch (error) {
        details += `; restoring failed: ${(error as Error).message}`;
      }
    }
    const key = `altered ${actual}`;
    if (!context.previous.has(key)) {
      context.event(() =>
        this.options.sink.recordTamper(TamperType.CONFIG_ALTERED, details, expected, actual),
      );
    }
    return { status: "found", details, keys: new Set([key]) };
  }

  private async checkListFile(context: CheckContext): Promise<Outcome> {
    const listFile = this.options.listFile;
    if (!listFile) return { status: "skipped", details: "no list file configured" };
    const result = listFile.verify();
    if (result.ok) return OK;
    const key = `altered ${result.actualSha256}`;
    if (!context.previous.has(key)) {
      context.event(() =>
        this.options.sink.recordTamper(
          TamperType.LIST_SIGNATURE_INVALID,
          result.details,
          result.expectedSha256,
          result.actualSha256,
        ),
      );
    }
    return { status: "found", details: result.details, keys: new Set([key]) };
  }
}
