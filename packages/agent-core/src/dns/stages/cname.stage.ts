/**
 * Position 5: checks upstream answers before they are cached or returned. If the answer section has
 * a CNAME or DNAME whose target is listed (or, with block_doh, is a DoH/DoT resolver), the whole
 * answer is replaced by the block response: otherwise "casino-mirror.example CNAME listed-casino.com"
 * would hand out the listed site's addresses. The TargetName of SVCB/HTTPS records (RFC 9460 §2.2,
 * an alias or service host browsers follow) is checked the same way. Names are read with bounded compression-pointer
 * following; an answer that cannot be read is refused with SERVFAIL (fail closed: an answer we cannot
 * check is not passed on).
 */
import { isBlockedCode } from "@betblocker/common/blocklist/matcher";
import type { WireNameSet } from "../name-set";
import type { DnsPolicy } from "../policy";
import type { BlockReporter, DnsAnswer, DnsCounters, DnsQuery, DnsStage } from "../query";
import {
  buildBlockedResponse,
  buildRcodeResponse,
  MAX_NAME_WIRE_LENGTH,
  Rcode,
  ResponseScanner,
  RrType,
  readName,
  Section,
  wireNameToString,
} from "../wire";
import type { MatcherRef } from "./blocklist.stage";

export class CnameCheckStage implements DnsStage {
  private readonly scanner = new ResponseScanner();
  private readonly target = new Uint8Array(MAX_NAME_WIRE_LENGTH + 1);

  constructor(
    readonly next: DnsStage,
    private readonly matcher: MatcherRef,
    private readonly dohProviders: WireNameSet,
    private readonly policy: DnsPolicy,
    private readonly reporter: BlockReporter,
    private readonly counters: DnsCounters,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    const answer = this.next.resolve(query);
    if (answer instanceof Promise) return answer.then((resolved) => this.check(query, resolved));
    return this.check(query, answer);
  }

  private check(query: DnsQuery, answer: DnsAnswer): DnsAnswer {
    if (answer === null || query.blocked) return answer;
    const scanner = this.scanner;
    if (!scanner.scan(answer)) {
      this.counters.servFail++;
      return buildRcodeResponse(query, Rcode.SERVFAIL);
    }
    const end = scanner.answerCount;
    for (let i = 0; i < end; i++) {
      if (scanner.recordSection[i] !== Section.ANSWER) continue;
      const type = scanner.recordType[i];
      let nameAt = scanner.rdataOffset[i]!;
      if (type === RrType.SVCB || type === RrType.HTTPS) {
        nameAt += 2; // SvcPriority, then TargetName
        if (scanner.rdataLength[i]! < 3) continue;
      } else if (type !== RrType.CNAME && type !== RrType.DNAME) {
        continue;
      }
      const length = readName(answer, nameAt, this.target);
      if (length < 0) {
        this.counters.servFail++;
        return buildRcodeResponse(query, Rcode.SERVFAIL);
      }
      if (length === 1) continue; // the root name ("." = the owner itself, for SVCB)
      const matcher = this.matcher.current;
      if (matcher === null) return buildRcodeResponse(query, Rcode.SERVFAIL);
      const code = matcher.matchWire(this.target, 0);
      if (isBlockedCode(code)) {
        this.reporter.report(query, "cname", matcher.categoryName(code), wireNameToString(this.target, 0));
        return buildBlockedResponse(query, this.policy.redirect);
      }
      if (this.policy.blockDohProviders && this.dohProviders.matchWire(this.target, 0) !== null) {
        this.reporter.report(query, "doh-provider", null, wireNameToString(this.target, 0));
        return buildBlockedResponse(query, this.policy.redirect);
      }
    }
    return answer;
  }
}
