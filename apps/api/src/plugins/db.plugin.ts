/**
 * Database access for routes, as the application role (RLS applies to every query):
 * - `app.database.sql`: the pool (health check only; everything else goes through a transaction below);
 * - `app.withActor(actor, fn)`: one transaction with SET LOCAL app.current_account_id / role / ip;
 * - `request.authContext()`: what auth services need, bound to the request's client IP and User-Agent;
 * - `request.withActor(fn)`: one transaction as the authenticated caller (role re-read from the database).
 * The pool belongs to whoever created it (main.ts or a test): this plugin never closes it.
 */

import { AppError } from "@betblocker/common/errors/app-error";
import type { AuthContext } from "@betblocker/core/auth/auth.service";
import { createAuthDatabase } from "@betblocker/core/auth/auth-database";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import type { AccountProfile } from "@betblocker/db/repositories/account.repository";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyInstance {
    database: { sql: Sql };
    withActor<T>(actor: ActorContext, fn: (tx: TransactionSql) => Promise<T>): Promise<T>;
  }
  interface FastifyRequest {
    authContext(): AuthContext;
    withActor<T>(fn: (tx: TransactionSql, account: AccountProfile) => Promise<T>): Promise<T>;
  }
}

export interface DbPluginOptions {
  sql: Sql;
}

const dbPlugin: FastifyPluginAsync<DbPluginOptions> = async (app, options) => {
  const { sql } = options;
  app.decorate("database", { sql });
  app.decorate("withActor", <T>(actor: ActorContext, fn: (tx: TransactionSql) => Promise<T>) =>
    withActor(sql, actor, fn),
  );
  app.decorateRequest("authContext", function authContext(this: FastifyRequest): AuthContext {
    const userAgent = this.headers["user-agent"];
    return { db: createAuthDatabase(sql, this.ip), ip: this.ip, userAgent: userAgent ?? null };
  });
  app.decorateRequest("withActor", function requestWithActor<
    T,
  >(this: FastifyRequest, fn: (tx: TransactionSql, account: AccountProfile) => Promise<T>): Promise<T> {
    const actor = this.actor;
    if (!actor) return Promise.reject(new AppError("UNAUTHENTICATED", "authentication required"));
    return createAuthDatabase(sql, this.ip).asAccount(actor.accountId, fn, {
      publicId: actor.publicId,
      role: actor.role,
    });
  });
};

export default fp(dbPlugin, { name: "db", fastify: "5.x", dependencies: ["auth"] });
