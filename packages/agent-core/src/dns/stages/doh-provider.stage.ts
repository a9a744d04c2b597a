/**
 * Position 3: names of public DoH/DoT resolvers (builtin-names.ts) are blocked while
 * protection_config.dns.block_doh or block_dot is on. It sits after the curated list on purpose: the
 * allowlist lets an admin un-block a gambling-list false positive, not re-open a resolver bypass.
 */
import type { WireNameSet } from "../name-set";
import type { DnsPolicy } from "../policy";
import type { BlockReporter, DnsAnswer, DnsQuery, DnsStage } from "../query";
import { buildBlockedResponse } from "../wire";

export class DohProviderStage implements DnsStage {
  constructor(
    readonly next: DnsStage,
    /** `new WireNameSet(dohProviderEntries())`, shared with the CNAME check. */
    private readonly providers: WireNameSet,
    private readonly policy: DnsPolicy,
    private readonly reporter: BlockReporter,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    if (!this.policy.blockDohProviders || this.providers.matchWire(query.packet, 12) === null) {
      return this.next.resolve(query);
    }
    this.reporter.report(query, "doh-provider", null);
    return buildBlockedResponse(query, this.policy.redirect);
  }
}
