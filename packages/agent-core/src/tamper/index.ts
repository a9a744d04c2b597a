/** Tamper and bypass detection: integrity manifest, hosts-file and VPN checks, the monitor, the watchdog. */
export * from "./file-hash";
export * from "./hosts-file";
export * from "./interfaces";
export * from "./manifest";
export * from "./tamper-monitor";
export * from "./watchdog";
