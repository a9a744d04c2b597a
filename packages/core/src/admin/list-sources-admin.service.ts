/**
 * List sources for platform admins over the API (the CLI's `betblocker sources ...` in request form): list,
 * get, create, update, delete, fetch now. Admins only (assertAdmin with the role read from the database).
 *
 * The CRUD functions run in the caller's transaction, whose SET LOCAL context names the admin: the audit
 * trigger on list_sources records them as actor. Validation is list-source.service.ts's, the one the CLI uses;
 * the API additionally refuses relative file paths (relative to what? the API's working directory means
 * nothing to the caller).
 *
 * Fetch now runs the same import as the CLI's `sources fetch NAME` and the worker's job (lease, conditional
 * GET, shrink guard, diff), in the API process with the admin as actor: a file path is read on the API's
 * machine, which on a self-hosted install is the worker's too.
 */
import { randomBytes } from "node:crypto";
import { isAbsolute } from "node:path";
import { AppError } from "@betblocker/common/errors/app-error";
import type { Sql, TransactionSql } from "@betblocker/db/client";
import type { ActorContext } from "@betblocker/db/context";
import {
  deleteListSource,
  getListSourceByName,
  insertListSource,
  type ListSourceChanges,
  type ListSourceRow,
  listListSources,
  updateListSource,
} from "@betblocker/db/repositories/list-source.repository";
import { isHttpLocation } from "../list-sources/fetch-list";
import {
  type ImportSourcesDeps,
  importListSources,
  type SourceImportResult,
} from "../list-sources/import-sources.service";
import { type AddListSourceInput, validateListSource } from "../list-sources/list-source.service";
import { type Actor, assertAdmin } from "./admin.policy";

const notFound = (name: string) => new AppError("NOT_FOUND", `no list source named ${name}`);

export async function listListSourcesForAdmin(tx: TransactionSql, actor: Actor): Promise<ListSourceRow[]> {
  assertAdmin(actor);
  return await listListSources(tx);
}

export async function getListSourceForAdmin(
  tx: TransactionSql,
  actor: Actor,
  name: string,
): Promise<ListSourceRow> {
  assertAdmin(actor);
  const source = await getListSourceByName(tx, name);
  if (!source) throw notFound(name);
  return source;
}

/** CONFLICT when the name is taken. */
export async function createListSourceForAdmin(
  tx: TransactionSql,
  actor: Actor,
  input: AddListSourceInput,
): Promise<ListSourceRow> {
  assertAdmin(actor);
  const location = input.location.trim();
  if (!isHttpLocation(location) && !isAbsolute(location)) {
    throw new AppError("VALIDATION_FAILED", "location: an http(s) URL or an absolute file path", {
      fieldErrors: [{ path: "location", message: "must be an http(s) URL or an absolute file path" }],
    });
  }
  const source = validateListSource({ ...input, location });
  const row = await insertListSource(tx, source);
  if (!row) {
    throw new AppError("CONFLICT", `a list source named ${source.name} already exists`, {
      name: source.name,
    });
  }
  return row;
}

export async function updateListSourceForAdmin(
  tx: TransactionSql,
  actor: Actor,
  name: string,
  changes: ListSourceChanges,
): Promise<ListSourceRow> {
  assertAdmin(actor);
  if (Object.values(changes).every((value) => value === undefined)) {
    throw new AppError("VALIDATION_FAILED", "nothing to change", {
      fieldErrors: [{ path: "", message: "give enabled, license, category or format" }],
    });
  }
  const row = await updateListSource(tx, name, changes);
  if (!row) throw notFound(name);
  return row;
}

/**
 * Deletes the source; the entries only it listed become inactive (curated and federated entries stay), as
 * `betblocker sources remove`. Returns how many entries were deactivated.
 */
export async function deleteListSourceForAdmin(
  tx: TransactionSql,
  actor: Actor,
  name: string,
): Promise<{ deactivated: number }> {
  assertAdmin(actor);
  const deactivated = await deleteListSource(tx, name);
  if (deactivated === null) throw notFound(name);
  return { deactivated };
}

export interface FetchNowDeps {
  /** Application-role pool: the import opens its own transactions (one per step, as the worker's). */
  sql: Sql;
  config: ImportSourcesDeps["config"];
}

/**
 * Imports one source now. `actor` must come from a transaction that passed getListSourceForAdmin (admin role
 * read from the database). CONFLICT when a worker (or another fetch) holds the source's lease right now.
 */
export async function fetchListSourceNow(
  deps: FetchNowDeps,
  actor: ActorContext,
  name: string,
): Promise<SourceImportResult> {
  assertAdmin(actor);
  const report = await importListSources(
    {
      sql: deps.sql,
      actor,
      config: deps.config,
      owner: `api-${process.pid}-${randomBytes(3).toString("hex")}`,
    },
    { names: [name] },
  );
  const result = report.results[0];
  if (!result) {
    throw new AppError("CONFLICT", `list source ${name} is being fetched right now (or was just removed)`);
  }
  return result;
}
