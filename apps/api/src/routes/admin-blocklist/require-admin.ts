/**
 * onRequest hook for admin-only routes, listed after the auth plugin's own hook (which the auth plugin
 * prepends), so it sees request.actor. A non-admin token gets 403 before its body is even read; the service
 * checks again with the role read from the database (admin.policy.ts).
 */
import { AppError } from "@betblocker/common/errors/app-error";
import { isAdmin } from "@betblocker/core/admin/admin.policy";
import type { FastifyRequest } from "fastify";

export async function requireAdminToken(request: FastifyRequest): Promise<void> {
  if (!request.actor) throw new AppError("UNAUTHENTICATED", "authentication required");
  if (!isAdmin(request.actor)) throw new AppError("FORBIDDEN", "this requires the admin role");
}
