import type { ActorContext } from "@betblocker/db/context";

/**
 * The worker's identity for the lifecycle jobs (completing due self-tier requests, expiring invitations): no
 * account, role 'system'. Row-level security gives 'system' exactly what those jobs need (the *_system_*
 * policies of migrations 0017-0020, the triggers limit its transitions), and audit_log records the actor as
 * NULL. Deliberately not 'admin', which would lift every policy.
 */
export const ENROLLMENT_SYSTEM_ACTOR: ActorContext = Object.freeze({
  accountId: null,
  role: "system",
  ip: null,
});
