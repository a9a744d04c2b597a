/**
 * Position 2: the curated list. A listed name (exact, parent, wildcard or pattern) is answered with
 * the block response of the policy (NXDOMAIN or the interstitial address) carrying EDE 15 "Blocked";
 * the allowlist wins over every block rule (the matcher returns ALLOWLISTED). The reason and the
 * rule's category go to the block reporter. The matcher is swapped atomically by `setMatcher` (the
 * agent's list store does that only after verifying a new list: last known good).
 */
import {
  type BlocklistMatcher,
  isBlockedCode,
  MatchReason,
  matchReasonOf,
} from "@betblocker/common/blocklist/matcher";
import type { DnsPolicy } from "../policy";
import type { BlockReason, BlockReporter, DnsAnswer, DnsQuery, DnsStage } from "../query";
import { buildBlockedResponse, buildRcodeResponse, Rcode } from "../wire";

const REASONS: readonly BlockReason[] = ["exact", "exact", "parent", "wildcard", "pattern"];

/**
 * A holder so the blocklist stage and the CNAME check always see the same list. `null` only before
 * the first list is loaded; the stages then answer SERVFAIL (fail closed), though the gate stage
 * keeps queries from getting that far.
 */
export class MatcherRef {
  constructor(public current: BlocklistMatcher | null) {}
}

export class BlocklistStage implements DnsStage {
  constructor(
    readonly next: DnsStage,
    private readonly matcher: MatcherRef,
    private readonly policy: DnsPolicy,
    private readonly reporter: BlockReporter,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    const matcher = this.matcher.current;
    if (matcher === null) return buildRcodeResponse(query, Rcode.SERVFAIL);
    const code = matcher.matchWire(query.packet, 12);
    if (!isBlockedCode(code)) {
      // A name the matcher cannot read (a '.' byte inside a label) has no dotted spelling to check
      // against the list: refuse it rather than forward an unchecked name.
      if (matchReasonOf(code) === MatchReason.INVALID) return buildRcodeResponse(query, Rcode.REFUSED);
      return this.next.resolve(query);
    }
    this.reporter.report(query, REASONS[matchReasonOf(code)]!, matcher.categoryName(code));
    return buildBlockedResponse(query, this.policy.redirect);
  }
}
