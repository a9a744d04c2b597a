/**
 * Report date ranges: whole UTC days, both ends inclusive, at most MAX_RANGE_DAYS days. The range bounds the
 * events scan (created_at >= start and < end), which is what lets PostgreSQL prune to the monthly partitions
 * the range touches.
 */
import { AppError } from "@betblocker/common/errors/app-error";

/** At most one year, leap years included. */
export const MAX_RANGE_DAYS = 366;
/** The range when neither end is given: the last seven days, today included. */
export const DEFAULT_RANGE_DAYS = 7;

const DAY_MS = 86_400_000;

export interface DateRange {
  /** YYYY-MM-DD, inclusive. */
  from: string;
  /** YYYY-MM-DD, inclusive. */
  to: string;
  /** from at 00:00 UTC. */
  start: Date;
  /** The day after `to` at 00:00 UTC (exclusive end). */
  end: Date;
}

export function utcDay(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

export function startOfUtcDay(date: string): Date {
  return new Date(`${date}T00:00:00.000Z`);
}

export function addDays(date: string, days: number): string {
  return utcDay(new Date(startOfUtcDay(date).getTime() + days * DAY_MS));
}

/** Number of days from `from` through `to`, both included (1 for a single day). */
export function daysInRange(from: string, to: string): number {
  return Math.round((startOfUtcDay(to).getTime() - startOfUtcDay(from).getTime()) / DAY_MS) + 1;
}

/** Every date from `from` through `to`, in order. */
export function eachDay(from: string, to: string): string[] {
  const days: string[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) days.push(day);
  return days;
}

/**
 * What is wrong with a range whose two ends are given, as field errors (empty when it is fine). Used by the
 * API's querystring schema and by resolveDateRange, so both say the same thing.
 */
export function dateRangeProblems(from: string, to: string): { path: "from" | "to"; message: string }[] {
  if (from > to) return [{ path: "to", message: "must not be before from" }];
  if (daysInRange(from, to) > MAX_RANGE_DAYS)
    return [{ path: "to", message: `the range must be at most ${MAX_RANGE_DAYS} days` }];
  return [];
}

/**
 * The range a request asks for, with defaults: `to` defaults to today (UTC); `from` to six days before `to`,
 * or, when only `from` is given, `to` is today but at most MAX_RANGE_DAYS - 1 days after `from`.
 * Dates must already be valid YYYY-MM-DD strings. Throws VALIDATION_FAILED for a reversed or too long range.
 */
export function resolveDateRange(input: { from?: string; to?: string }, today: string): DateRange {
  let { from, to } = input;
  if (to === undefined) {
    to = from === undefined ? today : earlierDate(today, addDays(from, MAX_RANGE_DAYS - 1));
    if (from !== undefined && to < from) to = from;
  }
  from ??= addDays(to, -(DEFAULT_RANGE_DAYS - 1));
  const problems = dateRangeProblems(from, to);
  if (problems.length > 0) {
    const [first] = problems;
    throw new AppError("VALIDATION_FAILED", `invalid date range: ${first?.path}: ${first?.message}`, {
      fieldErrors: problems,
    });
  }
  return { from, to, start: startOfUtcDay(from), end: startOfUtcDay(addDays(to, 1)) };
}

/** The earlier of two YYYY-MM-DD dates (they compare as strings). */
export function earlierDate(a: string, b: string): string {
  return [a, b].sort()[0] as string;
}

/** The later of two YYYY-MM-DD dates. */
export function laterDate(a: string, b: string): string {
  return [a, b].sort()[1] as string;
}
