/**
 * Position 0: answers what must never go further. Malformed queries get FORMERR (header readable)
 * or are dropped (no header, or a response sent to us); other opcodes NOTIMP; an EDNS version other
 * than 0 BADVERS (RFC 6891 §6.1.3); classes other than IN and zone transfers REFUSED (a filtering
 * forwarder answers Internet lookups only).
 */
import type { DnsAnswer, DnsCounters, DnsQuery, DnsStage } from "../query";
import {
  buildBadVers,
  buildFormErr,
  buildHeaderOnlyResponse,
  buildRcodeResponse,
  CLASS_IN,
  ParseStatus,
  Rcode,
  RrType,
} from "../wire";

export class ValidateStage implements DnsStage {
  constructor(
    readonly next: DnsStage,
    private readonly counters: DnsCounters,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    const status = query.status;
    if (status !== ParseStatus.OK) {
      if (status === ParseStatus.DROP) {
        this.counters.dropped++;
        return null;
      }
      if (status === ParseStatus.FORMERR) {
        this.counters.formErr++;
        return buildFormErr(query.packet);
      }
      if (status === ParseStatus.NOTIMP) return buildHeaderOnlyResponse(query.packet, Rcode.NOTIMP);
      return buildBadVers(query);
    }
    if (query.qclass !== CLASS_IN || query.qtype === RrType.AXFR || query.qtype === RrType.IXFR) {
      return buildRcodeResponse(query, Rcode.REFUSED);
    }
    return this.next.resolve(query);
  }
}
