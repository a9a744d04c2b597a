import { parseArgs } from "node:util";
import { migrate, migrationStatus } from "@betblocker/db/migrate";
import { migrationsDir } from "@betblocker/db/paths";
import { EXIT_FAILURE, EXIT_OK } from "../cli-io";
import type { Command } from "../main";

export const migrateCommand: Command = async (args, ctx) => {
  const { values } = parseArgs({
    args,
    options: { status: { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  const db = await ctx.database();
  if (values.status) {
    const status = await migrationStatus(db.url, migrationsDir());
    for (const m of status) {
      ctx.io.out(`${m.state.padEnd(8)} ${m.name}${m.appliedAt ? `  ${m.appliedAt.toISOString()}` : ""}`);
    }
    const pending = status.filter((m) => m.state === "pending").length;
    const changed = status.filter((m) => m.state === "changed").length;
    ctx.io.out(`migrations=${status.length} pending=${pending} changed=${changed}`);
    return changed > 0 ? EXIT_FAILURE : EXIT_OK;
  }
  const result = await migrate(db.url, migrationsDir(), (line) => ctx.io.out(line));
  ctx.io.out(`migrated: applied=${result.applied.length} already_applied=${result.alreadyApplied}`);
  return EXIT_OK;
};
