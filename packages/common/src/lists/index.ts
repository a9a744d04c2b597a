export * from "./adblock-format";
export * from "./csv-format";
export * from "./domains-format";
export * from "./hosts-format";
export * from "./list-parser";
export * from "./list-rule";
export * from "./pattern";
