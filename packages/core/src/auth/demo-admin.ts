/**
 * The demo administrator `npm start` prints: created once with a random password kept in
 * `<data_dir>/demo-admin.json` (mode 0600), so the operator can log in to the API right away.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Queryable } from "@betblocker/db/client";
import { createAdminAccountIfMissing } from "@betblocker/db/repositories/account.repository";
import type { PasswordHasher } from "./password-hasher";

export const DEMO_ADMIN_EMAIL = "admin@example.com";

export interface DemoAdmin {
  email: string;
  password: string;
  created: boolean;
}

export async function ensureDemoAdmin(
  ownerSql: Queryable,
  dataDir: string,
  hasher: PasswordHasher,
): Promise<DemoAdmin> {
  const file = join(dataDir, "demo-admin.json");
  let password: string;
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as { password?: unknown };
    if (typeof saved.password !== "string")
      throw new Error(`${file} is malformed; delete it to create a new demo admin password`);
    password = saved.password;
  } else {
    // Mixed classes and 24 characters: passes the password policy.
    password = `Bb-${randomBytes(18).toString("base64url")}`;
    writeFileSync(file, `${JSON.stringify({ email: DEMO_ADMIN_EMAIL, password })}\n`, { mode: 0o600 });
  }
  const created = await createAdminAccountIfMissing(ownerSql, {
    email: DEMO_ADMIN_EMAIL,
    passwordHash: await hasher.hash(password),
    displayName: "Demo administrator",
  });
  return { email: DEMO_ADMIN_EMAIL, password, created };
}
