/**
 * Who may administer the platform (blocklist curation, the review queue): accounts whose role is admin.
 * The API checks the token's role before reading the request (a cheap 403), and every admin service checks
 * again with the role read from the database inside its transaction, which is the one that counts.
 */
import { AppError } from "@betblocker/common/errors/app-error";

export interface Actor {
  id: number;
  role: string;
}

export function isAdmin(actor: { role: string }): boolean {
  return actor.role === "admin";
}

/** Throws FORBIDDEN unless the actor is an admin. */
export function assertAdmin(actor: { role: string }): void {
  if (!isAdmin(actor)) throw new AppError("FORBIDDEN", "this requires the admin role");
}
