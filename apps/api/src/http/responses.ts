import { errorResponseSchema } from "./errors";

/** Error responses a route can give, for its response schema (500 is always included). */
export function errorResponses<const S extends number>(
  ...statuses: S[]
): Record<S | 500, typeof errorResponseSchema> {
  const responses = { 500: errorResponseSchema } as Record<S | 500, typeof errorResponseSchema>;
  for (const status of statuses) responses[status] = errorResponseSchema;
  return responses;
}
