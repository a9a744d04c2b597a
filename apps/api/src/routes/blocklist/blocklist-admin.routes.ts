/**
 * POST /api/v1/admin/blocklist/publish: compile, sign and store a new blocklist version (core publishBlocklist),
 * admins only (403 otherwise, the role re-read from the database). The signing key comes from
 * blocklist.signing_key_path (never from a request or an environment value); without it: 503.
 */
import { AppError } from "@betblocker/common/errors/app-error";
import { publishBlocklist } from "@betblocker/core/blocklist/publish.service";
import type { SigningKeyPair } from "@betblocker/core/blocklist/signing-key";
import type { BlocklistSyncService } from "@betblocker/core/devices/blocklist-sync.service";
import { assertCanPublishBlocklist } from "@betblocker/core/devices/devices.policy";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import { publishBodySchema, publishResponseSchema } from "./blocklist.schema";

export interface BlocklistAdminRoutesOptions {
  signingKey: SigningKeyPair | null;
  /** Told about a new version at once (agents in this process see it on their next sync). */
  sync?: BlocklistSyncService | null;
}

export const blocklistAdminRoutes: FastifyPluginAsyncZod<BlocklistAdminRoutesOptions> = async (
  app,
  { signingKey, sync },
) => {
  app.post(
    "/publish",
    {
      config: { auth: true },
      schema: {
        tags: ["admin"],
        summary: "Publish a new signed blocklist version (admin)",
        description:
          "Compiles the active entries and the allowlist into a signed list, with a signed delta from the previous " +
          "version, in one transaction. Agents receive it on their next sync.",
        body: publishBodySchema,
        response: { 200: publishResponseSchema, ...errorResponses(400, 401, 403, 413, 415, 503) },
      },
    },
    async (request) => {
      await request.withActor(async (_tx, account) => assertCanPublishBlocklist(account));
      if (!signingKey) throw new AppError("SERVICE_UNAVAILABLE", "no blocklist signing key is configured");
      const result = await publishBlocklist(app.database.sql, {
        privateKey: signingKey.privateKey,
        publicKey: signingKey.publicKey,
        actor: { accountId: request.actor!.accountId, role: "admin", ip: request.ip },
        onlyIfChanged: request.body?.only_if_changed ?? false,
      });
      sync?.invalidate();
      request.log.info({ version: result.version, published: result.published }, "blocklist publish");
      return {
        published: result.published,
        version: result.version,
        entry_count: result.entryCount,
        snapshot_bytes: result.snapshotBytes,
        delta_bytes: result.deltaBytes,
        compile_ms: Math.round(result.compileMs),
      };
    },
  );
};
