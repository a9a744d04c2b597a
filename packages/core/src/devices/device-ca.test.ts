// The Reflect polyfill must load before @peculiar/x509 (device-ca.ts imports it first as well).
import "reflect-metadata";
import {
  createPrivateKey,
  createPublicKey,
  X509Certificate as NodeX509Certificate,
  webcrypto,
} from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { isAppError } from "@betblocker/common/errors/app-error";
import * as x509 from "@peculiar/x509";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  CLOCK_SKEW_ALLOWANCE_MS,
  createCsr,
  type DeviceCa,
  fingerprintOfDer,
  fingerprintOfPem,
  issueDeviceCertificate,
  loadOrCreateDeviceCa,
} from "./device-ca";

const crypto = webcrypto;
const DAY_MS = 86_400_000;
const DEVICE_ID = "0f8fad5b-d9cb-469f-a165-70867728950e";

const directories: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "bb-device-ca-"));
  directories.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

function caPaths(dir = tempDir()) {
  return { keyPath: join(dir, "ca", "device-ca.key"), certPath: join(dir, "ca", "device-ca.pem") };
}

/** Runs `action`, expecting an AppError; returns it. */
async function appErrorOf(
  action: () => unknown,
): Promise<{ code: string; message: string; details?: unknown }> {
  try {
    await action();
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error("expected an AppError, nothing was thrown");
}

/** A CSR built by hand, for keys and contents createCsr would never produce. */
async function csrFor(
  algorithm: RsaHashedKeyGenParams | EcKeyGenParams | { name: "Ed25519" },
  signingAlgorithm: { name: string; hash?: string },
  params: { name?: string; extensions?: x509.Extension[] } = {},
): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: params.name ?? "CN=device",
      keys,
      signingAlgorithm,
      ...(params.extensions === undefined ? {} : { extensions: params.extensions }),
    },
    crypto,
  );
  return csr.toString("pem");
}
type RsaHashedKeyGenParams = {
  name: string;
  modulusLength: number;
  publicExponent: Uint8Array;
  hash: string;
};
type EcKeyGenParams = { name: string; namedCurve: string };

describe("loadOrCreateDeviceCa", () => {
  test("creates an ECDSA P-256 CA (key 0600, 10-year self-signed CA certificate) when none exists, then loads it", async () => {
    const paths = caPaths();
    const now = new Date("2030-01-01T00:00:00Z");
    const ca = await loadOrCreateDeviceCa({ ...paths, commonName: "BetBlocker Device CA", now });
    expect(ca.created).toBe(true);
    expect(statSync(paths.keyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths.keyPath, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const key = createPrivateKey(readFileSync(paths.keyPath));
    expect(key.asymmetricKeyType).toBe("ec");
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");

    const certificate = new NodeX509Certificate(readFileSync(paths.certPath));
    expect(certificate.ca).toBe(true);
    expect(certificate.subject).toBe("CN=BetBlocker Device CA");
    expect(certificate.issuer).toBe(certificate.subject);
    expect(certificate.verify(certificate.publicKey)).toBe(true);
    expect(new Date(certificate.validFrom).getTime()).toBe(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
    expect(new Date(certificate.validTo).toISOString()).toBe("2040-01-01T00:00:00.000Z");
    const parsed = new x509.X509Certificate(ca.certificatePem);
    expect(parsed.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: true, pathLength: 0 });
    const usages = parsed.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    expect(usages & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(usages & x509.KeyUsageFlags.digitalSignature).toBeFalsy();
    expect(ca.fingerprintSha256Hex).toBe(fingerprintOfPem(ca.certificatePem));

    const again = await loadOrCreateDeviceCa({ ...paths, commonName: "ignored for an existing CA", now });
    expect(again.created).toBe(false);
    expect(again.fingerprintSha256Hex).toBe(ca.fingerprintSha256Hex);
    expect(again.subject).toBe("CN=BetBlocker Device CA");
  });

  test("refuses a key file that group or others can read", async () => {
    const paths = caPaths();
    await loadOrCreateDeviceCa({ ...paths, commonName: "CA" });
    chmodSync(paths.keyPath, 0o640);
    const error = await appErrorOf(() => loadOrCreateDeviceCa({ ...paths, commonName: "CA" }));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/has mode 640.*chmod 600/);
  });

  test("refuses a key without its certificate and a certificate without its key (never overwrites)", async () => {
    const paths = caPaths();
    await loadOrCreateDeviceCa({ ...paths, commonName: "CA" });
    const certificate = readFileSync(paths.certPath);
    rmSync(paths.certPath);
    expect((await appErrorOf(() => loadOrCreateDeviceCa({ ...paths, commonName: "CA" }))).message).toMatch(
      /key .* exists but its certificate .* does not/,
    );
    writeFileSync(paths.certPath, certificate);
    rmSync(paths.keyPath);
    expect((await appErrorOf(() => loadOrCreateDeviceCa({ ...paths, commonName: "CA" }))).message).toMatch(
      /certificate .* exists but its key .* does not/,
    );
    expect(existsSync(paths.keyPath)).toBe(false);
  });

  test("refuses a certificate that belongs to another key", async () => {
    const first = caPaths();
    const second = caPaths();
    await loadOrCreateDeviceCa({ ...first, commonName: "CA one" });
    await loadOrCreateDeviceCa({ ...second, commonName: "CA two" });
    writeFileSync(first.certPath, readFileSync(second.certPath));
    const error = await appErrorOf(() => loadOrCreateDeviceCa({ ...first, commonName: "CA" }));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/is not the key of/);
  });

  test("refuses an expired CA certificate", async () => {
    const paths = caPaths();
    await loadOrCreateDeviceCa({ ...paths, commonName: "CA", now: new Date("2020-01-01T00:00:00Z") });
    const error = await appErrorOf(() =>
      loadOrCreateDeviceCa({ ...paths, commonName: "CA", now: new Date("2031-01-01T00:00:00Z") }),
    );
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/expired on 2030-01-01/);
  });

  test("refuses garbage in the key file", async () => {
    const paths = caPaths();
    await loadOrCreateDeviceCa({ ...paths, commonName: "CA" });
    writeFileSync(paths.keyPath, "not a key", { mode: 0o600 });
    const error = await appErrorOf(() => loadOrCreateDeviceCa({ ...paths, commonName: "CA" }));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/cannot read device CA key/);
  });
});

describe("issueDeviceCertificate", () => {
  let ca: DeviceCa;
  beforeAll(async () => {
    ca = await loadOrCreateDeviceCa({ ...caPaths(), commonName: "BetBlocker Device CA" });
  });

  test("issues a 90-day clientAuth certificate for the device id that chains to the CA", async () => {
    const { csrPem } = await createCsr({ commonName: "laptop" });
    const now = new Date(Date.now() - 1000);
    const nowSeconds = Math.floor(now.getTime() / 1000) * 1000; // X.509 times have whole seconds
    const issued = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID, now });

    const certificate = new NodeX509Certificate(issued.certificatePem);
    const caCertificate = new NodeX509Certificate(ca.certificatePem);
    expect(certificate.checkIssued(caCertificate)).toBe(true);
    expect(certificate.verify(caCertificate.publicKey)).toBe(true);
    const chain = await new x509.X509ChainBuilder({ certificates: [ca.certificate] }).build(
      new x509.X509Certificate(issued.certificatePem),
      crypto,
    );
    expect(chain.map((link) => link.subject)).toEqual([`CN=${DEVICE_ID}`, "CN=BetBlocker Device CA"]);

    expect(certificate.subject).toBe(`CN=${DEVICE_ID}`);
    expect(certificate.ca).toBe(false);
    expect(certificate.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]); // node names the EKU list keyUsage
    expect(issued.notBefore.getTime()).toBe(nowSeconds - CLOCK_SKEW_ALLOWANCE_MS);
    expect(issued.notAfter.getTime()).toBe(nowSeconds + 90 * DAY_MS);
    expect(new Date(certificate.validTo).getTime()).toBe(issued.notAfter.getTime());

    const parsed = new x509.X509Certificate(issued.certificatePem);
    expect(parsed.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(parsed.getExtension(x509.KeyUsagesExtension)?.critical).toBe(true);
    expect(issued.serialNumberHex).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(issued.fingerprintSha256Hex).toBe(certificate.fingerprint256.replaceAll(":", "").toLowerCase());
    expect(fingerprintOfPem(issued.certificatePem)).toBe(issued.fingerprintSha256Hex);
    expect(fingerprintOfDer(certificate.raw)).toBe(issued.fingerprintSha256Hex);
  });

  test("certifies the CSR's own key, so the device's private key matches the certificate", async () => {
    const { csrPem, privateKeyPem } = await createCsr({ commonName: "laptop" });
    const issued = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID });
    const certificate = new NodeX509Certificate(issued.certificatePem);
    expect(certificate.checkPrivateKey(createPrivateKey(privateKeyPem))).toBe(true);
  });

  test("two certificates get different random serials", async () => {
    const { csrPem } = await createCsr({ commonName: "laptop" });
    const first = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID });
    const second = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID });
    expect(first.serialNumberHex).not.toBe(second.serialNumberHex);
  });

  test("ignores the CSR's subject and requested extensions", async () => {
    const csrPem = await csrFor(
      { name: "ECDSA", namedCurve: "P-256" },
      { name: "ECDSA", hash: "SHA-256" },
      {
        name: "CN=admin, O=Evil Corp",
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.ExtendedKeyUsageExtension([
            x509.ExtendedKeyUsage.serverAuth,
            x509.ExtendedKeyUsage.codeSigning,
          ]),
          new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "api.betblocker.example" }]),
        ],
      },
    );
    const issued = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID });
    const certificate = new NodeX509Certificate(issued.certificatePem);
    expect(certificate.subject).toBe(`CN=${DEVICE_ID}`);
    expect(certificate.ca).toBe(false);
    expect(certificate.subjectAltName).toBeUndefined();
    expect(certificate.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
  });

  test("accepts an Ed25519 key", async () => {
    const csrPem = await csrFor({ name: "Ed25519" }, { name: "Ed25519" });
    const issued = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID });
    expect(new NodeX509Certificate(issued.certificatePem).publicKey.asymmetricKeyType).toBe("ed25519");
  });

  test("refuses a CSR whose signature does not verify (no proof of possession)", async () => {
    const { csrPem } = await createCsr({ commonName: "laptop" });
    const der = new Uint8Array(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    // The last byte belongs to the signature's S integer: flipping it keeps the DER valid.
    der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
    const tampered = x509.PemConverter.encode(der, "CERTIFICATE REQUEST");
    const error = await appErrorOf(() =>
      issueDeviceCertificate(ca, { csrPem: tampered, deviceId: DEVICE_ID }),
    );
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.details).toMatchObject({
      reason: "csr_signature_invalid",
      fieldErrors: [{ path: "csr_pem" }],
    });
  });

  test("refuses a CSR whose key was swapped after signing", async () => {
    const original = new x509.Pkcs10CertificateRequest((await createCsr({ commonName: "a" })).csrPem);
    const other = new x509.Pkcs10CertificateRequest((await createCsr({ commonName: "a" })).csrPem);
    const der = Buffer.from(original.rawData);
    const swapped = Buffer.from(
      der
        .toString("hex")
        .replace(
          Buffer.from(original.publicKey.rawData).toString("hex"),
          Buffer.from(other.publicKey.rawData).toString("hex"),
        ),
      "hex",
    );
    expect(swapped.equals(der)).toBe(false);
    const csrPem = x509.PemConverter.encode(swapped, "CERTIFICATE REQUEST");
    const error = await appErrorOf(() => issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID }));
    expect(error.details).toMatchObject({ reason: "csr_signature_invalid" });
  });

  test.each([
    ["an empty string", ""],
    ["plain text", "hello, I am a certificate request"],
    [
      "a PEM block of garbage",
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA////\n-----END CERTIFICATE REQUEST-----\n",
    ],
    [
      "a huge body",
      `-----BEGIN CERTIFICATE REQUEST-----\n${"A".repeat(20_000)}\n-----END CERTIFICATE REQUEST-----`,
    ],
  ])("refuses %s as csr_malformed with a clear message", async (_label, csrPem) => {
    const error = await appErrorOf(() => issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID }));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.message).toMatch(/^invalid csr_pem: /);
    expect(error.details).toMatchObject({ reason: "csr_malformed", fieldErrors: [{ path: "csr_pem" }] });
  });

  test("refuses a certificate where a CSR belongs", async () => {
    const error = await appErrorOf(() =>
      issueDeviceCertificate(ca, { csrPem: ca.certificatePem, deviceId: DEVICE_ID }),
    );
    expect(error.details).toMatchObject({ reason: "csr_malformed" });
  });

  test("refuses an RSA-1024 key", async () => {
    const csrPem = await csrFor(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      { name: "RSASSA-PKCS1-v1_5" },
    );
    const error = await appErrorOf(() => issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID }));
    expect(error.code).toBe("VALIDATION_FAILED");
    expect(error.details).toMatchObject({ reason: "csr_key_unsupported" });
    expect(error.message).toMatch(/must be EC P-256 or Ed25519, not RSA-1024/);
  });

  test("refuses an EC key on another curve (P-384)", async () => {
    const csrPem = await csrFor({ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" });
    const error = await appErrorOf(() => issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID }));
    expect(error.message).toMatch(/not EC secp384r1/);
  });

  test("never issues beyond the CA's own expiry", async () => {
    const { csrPem } = await createCsr({ commonName: "laptop" });
    const now = new Date(ca.notAfter.getTime() - 10 * DAY_MS);
    const issued = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID, now });
    expect(issued.notAfter.getTime()).toBe(ca.notAfter.getTime());
  });

  test("insists on a UUID device id and a sane validity", async () => {
    const { csrPem } = await createCsr({ commonName: "laptop" });
    await expect(issueDeviceCertificate(ca, { csrPem, deviceId: "42" })).rejects.toThrow(
      /not a lower-case UUID/,
    );
    await expect(
      issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID, validityDays: 0 }),
    ).rejects.toThrow(/validityDays/);
  });
});

describe("createCsr", () => {
  test("generates an EC P-256 key locally and a CSR signed by it", async () => {
    const { privateKeyPem, csrPem } = await createCsr({ commonName: "my-laptop" });
    expect(privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----/);
    const key = createPrivateKey(privateKeyPem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    const csr = new x509.Pkcs10CertificateRequest(csrPem);
    expect(await csr.verify(crypto)).toBe(true);
    expect(csr.subject).toBe("CN=my-laptop");
    const csrKey = Buffer.from(csr.publicKey.rawData);
    expect(csrKey.equals(createPublicKey(key).export({ format: "der", type: "spki" }))).toBe(true);
    expect(csrPem).not.toContain("PRIVATE KEY");
  });
});

describe("fingerprintOfPem", () => {
  test("refuses text that holds no certificate", () => {
    expect(() => fingerprintOfPem("nope")).toThrow(/not a PEM certificate/);
  });
});

// ---------------------------------------------------------------------------------------------
// A real TLS handshake: the API's device listener trusts only the device CA.

/** A throwaway CA + server certificate for 127.0.0.1, unrelated to the device CA. */
async function serverCredentials(): Promise<{ caPem: string; keyPem: string; certPem: string }> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256" };
  const signing = { name: "ECDSA", hash: "SHA-256" };
  const caKeys = (await webcrypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const caCertificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: "CN=Test Server CA",
      keys: caKeys,
      signingAlgorithm: signing,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + DAY_MS),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      ],
    },
    crypto,
  );
  const serverKeys = (await webcrypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const serverCertificate = await x509.X509CertificateGenerator.create(
    {
      subject: "CN=127.0.0.1",
      issuer: caCertificate.subjectName,
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: signing,
      notBefore: new Date(Date.now() - DAY_MS),
      notAfter: new Date(Date.now() + DAY_MS),
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "127.0.0.1" }]),
      ],
    },
    crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", serverKeys.privateKey);
  return {
    caPem: caCertificate.toString("pem"),
    certPem: serverCertificate.toString("pem"),
    keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
  };
}

interface PeerView {
  authorized: boolean;
  authorizationError: string | null;
  fingerprint: string | null;
}

describe("mTLS with device certificates (node:https on 127.0.0.1)", () => {
  let deviceCa: DeviceCa;
  let server: ReturnType<typeof createServer>;
  let port: number;
  let serverCaPem: string;

  beforeAll(async () => {
    deviceCa = await loadOrCreateDeviceCa({ ...caPaths(), commonName: "BetBlocker Device CA" });
    const credentials = await serverCredentials();
    serverCaPem = credentials.caPem;
    server = createServer(
      {
        key: credentials.keyPem,
        cert: credentials.certPem,
        ca: [deviceCa.certificatePem],
        requestCert: true,
        // The handler decides (and answers 401 in the API), so an unauthorized client still gets a reply.
        rejectUnauthorized: false,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        const peer = socket.getPeerCertificate();
        const view: PeerView = {
          authorized: socket.authorized,
          authorizationError: socket.authorizationError === null ? null : String(socket.authorizationError),
          fingerprint: peer.raw === undefined ? null : fingerprintOfDer(peer.raw),
        };
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(view));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function call(client?: { keyPem: string; certPem: string }): Promise<PeerView> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/v1/device/heartbeat",
          method: "POST",
          ca: serverCaPem,
          // A fresh connection per call: a resumed TLS session would carry the previous client's certificate.
          agent: false,
          ...(client === undefined ? {} : { key: client.keyPem, cert: client.certPem }),
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => resolve(JSON.parse(body) as PeerView));
        },
      );
      req.on("error", reject);
      req.setTimeout(10_000, () => req.destroy(new Error("request timed out")));
      req.end();
    });
  }

  async function deviceCredentials(ca: DeviceCa, now?: Date) {
    const { privateKeyPem, csrPem } = await createCsr({ commonName: "device" });
    const issued = await issueDeviceCertificate(ca, { csrPem, deviceId: DEVICE_ID, ...(now ? { now } : {}) });
    return {
      keyPem: privateKeyPem,
      certPem: issued.certificatePem,
      fingerprint: issued.fingerprintSha256Hex,
    };
  }

  test("no client certificate: not authorized", async () => {
    const view = await call();
    expect(view.authorized).toBe(false);
    expect(view.fingerprint).toBeNull();
  });

  test("a certificate from another CA: not authorized", async () => {
    const otherCa = await loadOrCreateDeviceCa({ ...caPaths(), commonName: "BetBlocker Device CA" });
    const client = await deviceCredentials(otherCa);
    const view = await call(client);
    expect(view.authorized).toBe(false);
    expect(view.authorizationError).toMatch(
      /UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY|CERT_SIGNATURE_FAILURE/,
    );
    // The certificate was presented (and refused), not left out.
    expect(view.fingerprint).toBe(client.fingerprint);
  });

  test("a valid device certificate: authorized, and the peer fingerprint is the issued one", async () => {
    const client = await deviceCredentials(deviceCa);
    const view = await call(client);
    expect(view).toEqual({ authorized: true, authorizationError: null, fingerprint: client.fingerprint });
  });

  test("an expired device certificate: not authorized", async () => {
    const client = await deviceCredentials(deviceCa, new Date(Date.now() - 200 * DAY_MS));
    const view = await call(client);
    expect(view.authorized).toBe(false);
    expect(view.authorizationError).toBe("CERT_HAS_EXPIRED");
    expect(view.fingerprint).toBe(client.fingerprint);
  });
});
