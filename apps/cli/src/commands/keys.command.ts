import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { generateSigningKeyFiles } from "@betblocker/common";
import { EXIT_OK, UsageError } from "../cli-io";
import type { Command } from "../main";

export const keysCommand: Command = async (args, ctx) => {
  const [action, ...rest] = args;
  if (action !== "generate")
    throw new UsageError(`expected "keys generate", got ${JSON.stringify(action ?? "")}`);
  const { values } = parseArgs({
    args: rest,
    options: { out: { type: "string" } },
    strict: true,
    allowPositionals: false,
  });
  const privatePath = resolve(values.out ?? ctx.config.blocklist.signingKeyPath);
  mkdirSync(dirname(privatePath), { recursive: true, mode: 0o700 });
  const generated = generateSigningKeyFiles(privatePath);
  ctx.io.out(`created Ed25519 signing key ${generated.privatePath} (mode 0600)`);
  ctx.io.out(`public key ${generated.publicPath} (pin this in agents), key id ${generated.keyId}`);
  return EXIT_OK;
};
