/**
 * Managing list sources (`betblocker sources add|list|enable|disable|remove`): validation of name, location,
 * format and category, then the repository. Importing them is import-sources.service.ts.
 */
import { isAbsolute, resolve } from "node:path";
import { normalizeCategory } from "@betblocker/common/domain/category";
import { AppError } from "@betblocker/common/errors/app-error";
import { LIST_FORMAT_VALUES, type ListFormat } from "@betblocker/common/lists/index";
import type { Sql } from "@betblocker/db/client";
import { type ActorContext, withActor } from "@betblocker/db/context";
import {
  deleteListSource,
  getListSourceByName,
  insertListSource,
  type ListSourceRow,
  listListSources,
  setListSourceEnabled,
} from "@betblocker/db/repositories/list-source.repository";
import { isHttpLocation } from "./fetch-list";

export const LIST_SOURCE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,99}$/;

export interface AddListSourceInput {
  name: string;
  location: string;
  format: string;
  license?: string | null;
  category?: string | null;
  enabled?: boolean;
}

export interface ValidListSource {
  name: string;
  location: string;
  format: ListFormat;
  license: string | null;
  category: string | null;
  enabled: boolean;
}

/** Validates and normalises a new source: http(s) URL or a file path made absolute. */
export function validateListSource(input: AddListSourceInput): ValidListSource {
  const problems: string[] = [];
  const name = input.name.trim().toLowerCase();
  if (!LIST_SOURCE_NAME_PATTERN.test(name))
    problems.push("name: 1-100 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit");
  let location = input.location.trim();
  if (isHttpLocation(location)) {
    try {
      new URL(location);
    } catch {
      problems.push(`location: not a valid URL: ${location}`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    problems.push("location: only http(s) URLs and file paths are supported");
  } else if (location === "") {
    problems.push("location: required");
  } else if (!isAbsolute(location)) {
    location = resolve(location);
  }
  if (!(LIST_FORMAT_VALUES as readonly string[]).includes(input.format))
    problems.push(`format: expected ${LIST_FORMAT_VALUES.join(", ")}`);
  let category: string | null = null;
  if (input.category) {
    const normalized = normalizeCategory(input.category);
    if (!normalized.ok) problems.push(`category: ${normalized.reason}`);
    else category = normalized.category ?? null;
  }
  const license = input.license?.trim() || null;
  if (license && license.length > 200) problems.push("license: at most 200 characters");
  if (problems.length > 0) throw new AppError("VALIDATION_FAILED", problems.join("; "));
  return {
    name,
    location,
    format: input.format as ListFormat,
    license,
    category,
    enabled: input.enabled ?? true,
  };
}

export async function addListSource(
  sql: Sql,
  actor: ActorContext,
  input: AddListSourceInput,
): Promise<ListSourceRow> {
  const source = validateListSource(input);
  const row = await withActor(sql, actor, (tx) => insertListSource(tx, source));
  if (!row) throw new AppError("CONFLICT", `a list source named ${source.name} already exists`);
  return row;
}

/**
 * Registers the source unless one with this name exists (then returns the existing row unchanged): the
 * idempotent form used by `npm start` for the demo source.
 */
export async function ensureListSource(
  sql: Sql,
  actor: ActorContext,
  input: AddListSourceInput,
): Promise<{ source: ListSourceRow; created: boolean }> {
  const source = validateListSource(input);
  return await withActor(sql, actor, async (tx) => {
    const inserted = await insertListSource(tx, source);
    if (inserted) return { source: inserted, created: true };
    const existing = await getListSourceByName(tx, source.name);
    if (!existing) throw new AppError("CONFLICT", `list source ${source.name} is being removed`);
    return { source: existing, created: false };
  });
}

export async function listSources(sql: Sql, actor: ActorContext): Promise<ListSourceRow[]> {
  return await withActor(sql, actor, (tx) => listListSources(tx));
}

export async function setSourceEnabled(
  sql: Sql,
  actor: ActorContext,
  name: string,
  enabled: boolean,
): Promise<void> {
  const found = await withActor(sql, actor, (tx) => setListSourceEnabled(tx, name, enabled));
  if (!found) throw new AppError("NOT_FOUND", `no list source named ${name}`);
}

/**
 * Removes a source. The entries it added and that no other source lists are deactivated (status 'inactive');
 * curated and federated entries stay. Disabling instead keeps its entries as they are.
 */
export async function removeListSource(
  sql: Sql,
  actor: ActorContext,
  name: string,
): Promise<{ deactivated: number }> {
  const deactivated = await withActor(sql, actor, (tx) => deleteListSource(tx, name));
  if (deactivated === null) throw new AppError("NOT_FOUND", `no list source named ${name}`);
  return { deactivated };
}
