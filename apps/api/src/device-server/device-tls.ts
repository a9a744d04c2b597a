/**
 * The device listener's key material from [api.device_tls]: the device CA (issues device certificates) and the
 * server certificate it issued for the listener's names. Both are created on first start when missing (the
 * demo needs no set-up); production can provision its own files at the configured paths.
 */
import type { DeviceTlsConfig } from "@betblocker/core/config/config";
import {
  type DeviceCa,
  loadOrCreateDeviceCa,
  loadOrCreateServerCertificate,
} from "@betblocker/core/devices/device-ca";
import type { DeviceTlsMaterial } from "./device-app";

export const DEVICE_CA_COMMON_NAME = "BetBlocker Device CA";

export interface DeviceTls {
  ca: DeviceCa;
  material: DeviceTlsMaterial;
  /** Which files were created now (for a log line). */
  created: { ca: boolean; serverCertificate: boolean };
}

export async function loadDeviceTls(config: DeviceTlsConfig, now?: Date): Promise<DeviceTls> {
  const ca = await loadOrCreateDeviceCa({
    keyPath: config.caKeyPath,
    certPath: config.caCertPath,
    commonName: DEVICE_CA_COMMON_NAME,
    ...(now ? { now } : {}),
  });
  const server = await loadOrCreateServerCertificate(ca, {
    keyPath: config.serverKeyPath,
    certPath: config.serverCertPath,
    names: config.serverNames,
    ...(now ? { now } : {}),
  });
  return {
    ca,
    material: { cert: server.certificatePem, key: server.privateKeyPem, ca: ca.certificatePem },
    created: { ca: ca.created, serverCertificate: server.created },
  };
}
