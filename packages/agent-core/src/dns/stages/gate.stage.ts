/**
 * Position -1 (in front of everything): holds queries until the first list is loaded. The listeners
 * bind before the list is compiled or verified, so a client asking during start-up waits (its query
 * sits here, or in the socket buffer) instead of getting "connection refused" and falling back to
 * another resolver; nothing is answered before a list is in place. At most `maxWaiting` queries
 * wait; more are dropped (the client retries).
 */
import type { DnsAnswer, DnsQuery, DnsStage } from "../query";

interface Waiting {
  readonly query: DnsQuery;
  readonly resolve: (answer: DnsAnswer) => void;
}

export class GateStage implements DnsStage {
  private isOpen = false;
  private readonly waiting: Waiting[] = [];

  constructor(
    readonly next: DnsStage,
    private readonly maxWaiting = 4096,
  ) {}

  get open(): boolean {
    return this.isOpen;
  }

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    if (this.isOpen) return this.next.resolve(query);
    if (this.waiting.length >= this.maxWaiting) return null;
    return new Promise((resolve) => this.waiting.push({ query, resolve }));
  }

  /** Let queries through (the list is in place); answers the ones that waited, in arrival order. */
  openGate(): void {
    this.isOpen = true;
    for (const { query, resolve } of this.waiting.splice(0)) {
      const answer = this.next.resolve(query);
      if (answer instanceof Promise) void answer.then(resolve);
      else resolve(answer);
    }
  }
}
