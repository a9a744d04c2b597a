#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx) in a development checkout. Releases run the bundle or the
// single executable built by `npm run build:agent` instead.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv.slice(2));
