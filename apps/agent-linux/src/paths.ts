/** Files the Linux shim keeps in the agent's state directory (beside agent-core's statePaths). */
import { join } from "node:path";

export function linuxStatePaths(stateDir: string) {
  return {
    /** The last config the agent accepted, restored when the config file is changed outside the agent. */
    goodConfig: join(stateDir, "config.good.toml"),
    /** Original resolv.conf, put back by uninstall. */
    resolvBackup: join(stateDir, "resolv.conf.orig"),
    /** Supervisor -> child: kills and hangs seen while the child was down (JSON lines). */
    watchdogJournal: join(stateDir, "watchdog.journal"),
    /** Written after every check, read by `betblocker-agent status`. */
    status: join(stateDir, "status.json"),
    /** Present only while an uninstall the API allowed is running: the stop is then not a tamper. */
    stopAuthorized: join(stateDir, "stop-authorized"),
  };
}
