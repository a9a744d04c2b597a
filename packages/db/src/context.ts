import type { Sql, TransactionSql } from "./client";

/**
 * Who is acting, for row-level security and the audit trigger. Set with set_config(..., true), which is
 * SET LOCAL: the values vanish when the transaction ends, so a pooled connection never leaks them.
 */
export interface ActorContext {
  /** accounts.id of the actor; null for the system (worker jobs) or an anonymous request. */
  accountId: number | null;
  /** account_role of the actor ('user' | 'partner' | 'authority' | 'admin'), or 'system'. */
  role: string;
  /** Client IP for the audit trail; null when not from a network request. */
  ip: string | null;
}

export async function applyActorContext(tx: TransactionSql, actor: ActorContext): Promise<void> {
  await tx`select set_config('app.current_account_id', ${actor.accountId === null ? "" : String(actor.accountId)}, true),
                  set_config('app.current_role', ${actor.role}, true),
                  set_config('app.current_ip', ${actor.ip ?? ""}, true)`;
}

/** Runs `fn` in one transaction with the actor's context set: the unit of work of every request and job. */
export async function withActor<T>(
  sql: Sql,
  actor: ActorContext,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  return (await sql.begin(async (tx) => {
    await applyActorContext(tx, actor);
    return fn(tx);
  })) as T;
}
