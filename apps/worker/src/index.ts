export * from "./logger";
export * from "./registry";
export * from "./runner";
export * from "./worker";
