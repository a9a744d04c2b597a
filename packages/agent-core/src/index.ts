export * from "./dns/index";
