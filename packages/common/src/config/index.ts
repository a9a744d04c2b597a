export * from "./event-metadata.schema";
export * from "./field-errors";
export * from "./protection-config.schema";
export * from "./reporting-config.schema";
export * from "./reporting-summary.schema";
export * from "./unenrollment-policy.schema";
