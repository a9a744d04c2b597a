/** /api/v1/accounts: the signed-in account. */
import type { AuthService } from "@betblocker/core/auth/auth.service";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { errorResponses } from "../../http/responses";
import { accountSchema, toAccountResponse } from "./accounts.schema";

export interface AccountRoutesOptions {
  authService: AuthService;
}

export const accountRoutes: FastifyPluginAsyncZod<AccountRoutesOptions> = async (app, { authService }) => {
  app.get(
    "/me",
    {
      config: { auth: true },
      schema: {
        tags: ["accounts"],
        summary: "The signed-in account",
        response: { 200: accountSchema, ...errorResponses(401) },
      },
    },
    async (request) => {
      // config.auth guarantees request.actor.
      const account = await authService.currentAccount(request.authContext(), request.actor!);
      return toAccountResponse(account);
    },
  );
};
