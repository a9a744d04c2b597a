export * from "./blocklist/check.service";
export * from "./blocklist/import.service";
export * from "./blocklist/list-source";
export * from "./blocklist/publish.service";
export * from "./blocklist/signing-key";
export * from "./config/config";
