/**
 * The demo agent `npm start` runs beside the platform: it enrolls against the local API with a one-time code
 * (as the demo admin), syncs the signed list over mutual TLS and serves DNS on a high loopback port, so
 * `dig @127.0.0.1 -p <port> www.bet365.com` shows a block. State lives in <data_dir>/demo-agent.
 */
import { existsSync, readFileSync } from "node:fs";
import { hostname, release } from "node:os";
import { join } from "node:path";
import { registerDevice } from "@betblocker/agent-core/api-client/api-client";
import { startDnsForwarder } from "@betblocker/agent-core/dns/forwarder";
import { statePaths } from "@betblocker/agent-core/state/agent-state";
import { AgentRuntime } from "@betblocker/agent-core/sync/agent-runtime";
import { createCsr } from "@betblocker/core/devices/device-ca";
import { Platform } from "@betblocker/proto";

export interface DemoAgentOptions {
  /** Web API base, e.g. http://127.0.0.1:8080 */
  apiUrl: string;
  /** Device API base, e.g. https://127.0.0.1:8443 */
  deviceBaseUrl: string;
  deviceCaCertPath: string;
  admin: { email: string; password: string };
  stateDir: string;
  dnsPort: number;
  upstreams: string[];
}

export interface DemoAgent {
  port: number;
  listVersion: number;
  stop(): Promise<void>;
}

async function json(
  url: string,
  init: { method: string; token?: string; body?: unknown },
): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: init.method,
    headers: {
      "content-type": "application/json",
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body: JSON.stringify(init.body ?? {}),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok)
    throw new Error(
      `${init.method} ${new URL(url).pathname}: HTTP ${response.status} ${JSON.stringify(body)}`,
    );
  return body;
}

export async function startDemoAgent(options: DemoAgentOptions): Promise<DemoAgent> {
  if (!existsSync(statePaths(options.stateDir).cert)) {
    const login = await json(`${options.apiUrl}/api/v1/auth/login`, { method: "POST", body: options.admin });
    const code = await json(`${options.apiUrl}/api/v1/devices/enrollment-codes`, {
      method: "POST",
      token: String(login.access_token),
    });
    const csr = await createCsr({ commonName: "betblocker-demo-agent" });
    await registerDevice(options.stateDir, {
      baseUrl: options.deviceBaseUrl,
      caCertificatePem: readFileSync(options.deviceCaCertPath, "utf8"),
      enrollmentCode: String(code.code),
      csrPem: csr.csrPem,
      privateKeyPem: csr.privateKeyPem,
      request: {
        platform: Platform.LINUX,
        osVersion: release(),
        agentVersion: "0.1.0-demo",
        hostname: hostname(),
      },
    });
  }
  const runtime = AgentRuntime.open({
    stateDir: options.stateDir,
    apiUrl: options.deviceBaseUrl,
    agentVersion: "0.1.0-demo",
    osVersion: release(),
  });
  // First list before DNS starts answering (a real agent loads its last good list from disk first).
  await runtime.sync();
  const dns = await startDnsForwarder({
    matcher: () => runtime.waitForMatcher(),
    upstreams: options.upstreams,
    listen: { address: "127.0.0.1", port: options.dnsPort },
    onBlock: runtime.events.recordBlock,
  });
  runtime.attachForwarder(dns);
  runtime.start();
  return {
    port: dns.port,
    listVersion: runtime.blocklist.version,
    async stop() {
      await runtime.stop();
      await dns.stop();
    },
  };
}

export function demoAgentStateDir(dataDir: string): string {
  return join(dataDir, "demo-agent");
}
