export * from "./client";
export * from "./context";
export * from "./launcher";
export * from "./migrate";
export * from "./open";
export * from "./paths";
