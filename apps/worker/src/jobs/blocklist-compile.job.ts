/**
 * blocklist.compile (every 5 minutes): when the active entries or the allowlist differ from the latest
 * version (rules digest), compile, sign and store a new version and its delta. Idempotent and safe on
 * several replicas: publishing holds an advisory lock and re-checks the digest under it, so concurrent runs
 * publish one version.
 */

import { publishBlocklist } from "@betblocker/core/blocklist/publish.service";
import { loadSigningKeyPair } from "@betblocker/core/blocklist/signing-key";
import { defineJob, SYSTEM_ACTOR } from "@betblocker/core/jobs/job";
import { z } from "zod";

export const blocklistCompileJob = defineJob({
  id: "blocklist.compile",
  schedule: "blocklist_compile",
  payloadSchema: z.object({}),
  async handler(_payload, ctx) {
    // Loaded per run: a rotated key file is picked up without restarting the worker.
    const keys = loadSigningKeyPair(ctx.config.blocklist);
    const result = await publishBlocklist(ctx.app, {
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      actor: SYSTEM_ACTOR,
      onlyIfChanged: true,
    });
    if (result.published)
      ctx.log.info(`published version ${result.version}`, {
        entries: result.entryCount,
        bytes: result.snapshotBytes,
        delta_bytes: result.deltaBytes,
      });
    return { published: result.published, version: result.version, compile_ms: result.compileMs };
  },
});
