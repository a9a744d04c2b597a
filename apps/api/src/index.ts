export { API_VERSION, type BuildAppOptions, buildApp, createLogger, LOG_REDACT_PATHS } from "./app";
export { errorResponseSchema, HTTP_STATUS_BY_CODE, toHttpError } from "./http/errors";
