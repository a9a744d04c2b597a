/**
 * Position 1: resolver canaries (builtin-names.ts) always get NXDOMAIN, before any list or allowlist
 * is consulted, so Firefox's DoH and iCloud Private Relay switch themselves off on protected devices.
 */
import { canaryEntries } from "../builtin-names";
import { WireNameSet } from "../name-set";
import type { BlockReporter, DnsAnswer, DnsQuery, DnsStage } from "../query";
import { buildRcodeResponse, EDE_BLOCKED, Rcode } from "../wire";

export class CanaryStage implements DnsStage {
  private readonly canaries = new WireNameSet(canaryEntries());

  constructor(
    readonly next: DnsStage,
    private readonly reporter: BlockReporter,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    if (this.canaries.matchWire(query.packet, 12) === null) return this.next.resolve(query);
    this.reporter.report(query, "canary", null);
    return buildRcodeResponse(query, Rcode.NXDOMAIN, EDE_BLOCKED);
  }
}
