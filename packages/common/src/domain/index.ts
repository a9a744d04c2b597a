export * from "./category";
export * from "./domain.schema";
export * from "./normalize";
