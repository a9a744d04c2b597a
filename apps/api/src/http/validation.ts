/**
 * Request validation with zod: a failure becomes AppError VALIDATION_FAILED with one field error per problem
 * (`details.fieldErrors: [{path, message}]`, the same format the CLI and the config loader use). Body paths
 * are relative to the body ("email"); other parts are prefixed ("query.limit", "params.id").
 */

import { formatZodError } from "@betblocker/common/config/field-errors";
import { AppError, type ValidationErrorDetails } from "@betblocker/common/errors/app-error";
import type { FastifySchemaCompiler } from "fastify";
import type { z } from "zod";

const PART_PREFIX: Record<string, string> = {
  body: "",
  querystring: "query",
  params: "params",
  headers: "headers",
};

export const zodValidatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    const prefix = PART_PREFIX[httpPart ?? "body"] ?? String(httpPart);
    const fieldErrors = formatZodError(result.error, { input: data }).map((fieldError) => ({
      path: prefix ? (fieldError.path ? `${prefix}.${fieldError.path}` : prefix) : fieldError.path,
      message: fieldError.message,
    }));
    const first = fieldErrors[0];
    const summary = first ? `: ${first.path || "(body)"}: ${first.message}` : "";
    const more = fieldErrors.length > 1 ? ` (and ${fieldErrors.length - 1} more)` : "";
    const details: ValidationErrorDetails = { fieldErrors };
    return { error: new AppError("VALIDATION_FAILED", `invalid request${summary}${more}`, details) };
  };
