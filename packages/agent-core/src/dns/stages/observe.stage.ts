/**
 * Position 4.5: names that passed every check and are about to be resolved upstream (cache misses)
 * are shown to an observer (the federated reporter: names that look like gambling but are not listed).
 * Without an observer it costs one branch; with one, one name string per cache miss.
 */
import type { DnsAnswer, DnsQuery, DnsStage } from "../query";

/** Mutable holder so the observer can be set after the chain is built. */
export interface ObserverRef {
  current: ((name: string) => void) | null;
}

export class ObserveStage implements DnsStage {
  constructor(
    readonly next: DnsStage,
    private readonly observer: ObserverRef,
  ) {}

  resolve(query: DnsQuery): DnsAnswer | Promise<DnsAnswer> {
    const observe = this.observer.current;
    if (observe) {
      try {
        observe(query.name());
      } catch {
        // An observer never breaks resolution.
      }
    }
    return this.next.resolve(query);
  }
}
