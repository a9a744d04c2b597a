/**
 * The device certificate authority: it issues the client certificates device agents present on
 * /api/v1/device/* (mTLS), from keys the agents generated themselves.
 *
 * Files: the CA private key is an ECDSA P-256 PKCS#8 PEM file readable by its owner only (0600); the
 * CA certificate is a self-signed PEM file beside it (0644), valid 10 years, basicConstraints
 * CA:true pathlen:0 (it signs device certificates only), keyUsage keyCertSign + cRLSign. A key file
 * that group or others can read is refused: whoever holds it can mint a certificate for any device.
 *
 * Issuing: the CSR's signature must verify (proof of possession of the key) and its key must be
 * EC P-256 or Ed25519: both are small, fast, supported by TLS 1.2/1.3 in OpenSSL and by every
 * platform keystore we target, while RSA would need size policing and brings nothing. Everything
 * else in the CSR (subject, requested extensions, attributes) is ignored: the CA alone decides the
 * certificate's content. Subject CN = the device's public id (devices.public_id), keyUsage
 * digitalSignature, extKeyUsage clientAuth, a random 16-byte serial, notBefore 5 minutes in the past
 * (device clocks drift), notAfter = notBefore + 5 min + validityDays, never beyond the CA's notAfter.
 *
 * Identity on the wire: the API identifies a device by the SHA-256 of its certificate's DER, in
 * lower-case hex (`fingerprintOfDer`), which is what device_certificates.certificate_fingerprint
 * stores. On a TLS socket: `fingerprintOfDer(socket.getPeerCertificate().raw)`.
 */
import "reflect-metadata";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  X509Certificate as NodeX509Certificate,
  randomBytes,
  webcrypto,
} from "node:crypto";
import {
  closeSync,
  existsSync,
  fchmodSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { AppError } from "@betblocker/common/errors/app-error";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** Node's WebCrypto, handed to @peculiar/x509 explicitly on every call (no global provider state). */
const crypto = webcrypto;

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;
const PRIVATE_FILE_MODE = 0o600;
const PUBLIC_FILE_MODE = 0o644;
const GROUP_OTHER_BITS = 0o077;
const DAY_MS = 86_400_000;
/** Back-dating of notBefore, so a device whose clock runs a little behind accepts its certificate. */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;
export const CA_VALIDITY_YEARS = 10;
export const DEFAULT_DEVICE_CERTIFICATE_VALIDITY_DAYS = 90;
export const MAX_DEVICE_CERTIFICATE_VALIDITY_DAYS = 825;
/** A PEM CSR for a P-256 or Ed25519 key is well under 1 kB; anything this big is not one. */
export const MAX_CSR_PEM_LENGTH = 16 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const CSR_PEM =
  /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----[\s\S]+?-----END (?:NEW )?CERTIFICATE REQUEST-----/;

export interface DeviceCa {
  /** The CA certificate, PEM: the `ca` of the mTLS listener and RegisterResponse.ca_certificate_pem. */
  readonly certificatePem: string;
  /** SHA-256 of the CA certificate's DER, lower-case hex. */
  readonly fingerprintSha256Hex: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** True when this call generated the key and certificate (worth a log line: older device certificates will not chain to it). */
  readonly created: boolean;
  /** @internal The parsed certificate and the signing key; only issueDeviceCertificate uses them. */
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

export interface DeviceCaPaths {
  /** PKCS#8 PEM private key, mode 0600. */
  keyPath: string;
  /** PEM certificate. */
  certPath: string;
  /** Subject CN of a newly created CA ("BetBlocker Device CA"); an existing CA keeps its own. */
  commonName: string;
  /** Clock, for tests. */
  now?: Date;
}

/**
 * Load the device CA from `keyPath` + `certPath`, or create both when neither exists. Throws
 * AppError CONFIG_INVALID when only one exists, the key file is group/other accessible, the files
 * do not parse, the key is not the certificate's, the certificate is not a CA, or it has expired.
 */
export async function loadOrCreateDeviceCa(options: DeviceCaPaths): Promise<DeviceCa> {
  const now = options.now ?? new Date();
  const keyExists = existsSync(options.keyPath);
  const certExists = existsSync(options.certPath);
  if (!keyExists && !certExists) return createDeviceCa(options, now);
  if (!keyExists) {
    throw configInvalid(
      `device CA certificate ${options.certPath} exists but its key ${options.keyPath} does not`,
    );
  }
  if (!certExists) {
    throw configInvalid(
      `device CA key ${options.keyPath} exists but its certificate ${options.certPath} does not`,
    );
  }
  return loadDeviceCa(options, now);
}

async function createDeviceCa(options: DeviceCaPaths, clock: Date): Promise<DeviceCa> {
  const now = wholeSeconds(clock);
  if (options.commonName.trim() === "") throw configInvalid("device CA common name must not be empty");
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  const notAfter = new Date(now.getTime());
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_VALIDITY_YEARS);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialHex(),
      name: [{ CN: [options.commonName] }],
      notBefore,
      notAfter,
      signingAlgorithm: ECDSA_SHA256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const keyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" })
    .export({ format: "pem", type: "pkcs8" })
    .toString();
  mkdirSync(dirname(options.keyPath), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(options.certPath), { recursive: true, mode: 0o755 });
  writeNewFile(options.keyPath, keyPem, PRIVATE_FILE_MODE);
  try {
    writeNewFile(options.certPath, certificate.toString("pem"), PUBLIC_FILE_MODE);
  } catch (error) {
    // Never leave a key behind without its certificate: the next start would refuse both.
    unlinkSync(options.keyPath);
    throw error;
  }
  // Re-import as non-extractable: the running process only ever signs with it.
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, ECDSA_P256, false, ["sign"]);
  return caFrom(certificate, privateKey, true);
}

async function loadDeviceCa(options: DeviceCaPaths, now: Date): Promise<DeviceCa> {
  const mode = statSync(options.keyPath).mode;
  if ((mode & GROUP_OTHER_BITS) !== 0) {
    throw configInvalid(
      `device CA key ${options.keyPath} has mode ${(mode & 0o777).toString(8)}; it must not be accessible by group or others (chmod 600)`,
    );
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(readFileSync(options.keyPath));
  } catch (error) {
    throw configInvalid(`cannot read device CA key ${options.keyPath}: ${(error as Error).message}`);
  }
  if (keyObject.asymmetricKeyType !== "ec" || keyObject.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw configInvalid(`device CA key ${options.keyPath} is not an ECDSA P-256 key`);
  }
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(readFileSync(options.certPath, "utf8"));
  } catch (error) {
    throw configInvalid(
      `cannot parse device CA certificate ${options.certPath}: ${(error as Error).message}`,
    );
  }
  const certificateSpki = Buffer.from(certificate.publicKey.rawData);
  const keySpki = createPublicKey(keyObject).export({ format: "der", type: "spki" });
  if (!certificateSpki.equals(keySpki)) {
    throw configInvalid(`device CA key ${options.keyPath} is not the key of ${options.certPath}`);
  }
  const basicConstraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (basicConstraints?.ca !== true) {
    throw configInvalid(`${options.certPath} is not a CA certificate (basicConstraints CA:true missing)`);
  }
  if (certificate.notAfter.getTime() <= now.getTime()) {
    throw configInvalid(
      `device CA certificate ${options.certPath} expired on ${certificate.notAfter.toISOString()}; create a new CA (every device must then register again)`,
    );
  }
  const pkcs8 = keyObject.export({ format: "der", type: "pkcs8" });
  const privateKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, ECDSA_P256, false, ["sign"]);
  return caFrom(certificate, privateKey, false);
}

function caFrom(certificate: x509.X509Certificate, privateKey: CryptoKey, created: boolean): DeviceCa {
  return {
    certificatePem: certificate.toString("pem"),
    fingerprintSha256Hex: fingerprintOfDer(new Uint8Array(certificate.rawData)),
    subject: certificate.subject,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    created,
    certificate,
    privateKey,
  };
}

export interface IssueDeviceCertificateOptions {
  /** The agent's PKCS#10 CSR, PEM (RegisterRequest.csr_pem). */
  csrPem: string;
  /** devices.public_id: a lower-case canonical UUID; becomes the subject CN. */
  deviceId: string;
  /** Default 90, at most 825. */
  validityDays?: number;
  /** Clock, for tests. */
  now?: Date;
}

export interface IssuedDeviceCertificate {
  certificatePem: string;
  /** SHA-256 of the certificate's DER, lower-case hex: device_certificates.certificate_fingerprint. */
  fingerprintSha256Hex: string;
  /** Serial number, lower-case hex. */
  serialNumberHex: string;
  notBefore: Date;
  /** device_certificates.expires_at. */
  notAfter: Date;
}

/** Why a CSR was refused, in `details.reason` of the VALIDATION_FAILED AppError. */
export type CsrRejectionReason = "csr_malformed" | "csr_signature_invalid" | "csr_key_unsupported";

/**
 * Issue a client certificate for a device from its CSR (see the file comment for what the CA
 * checks and decides). Throws AppError VALIDATION_FAILED (details.reason: CsrRejectionReason,
 * fieldErrors on "csr_pem") for a CSR that is not PEM PKCS#10, whose signature does not verify or
 * whose key is not EC P-256 / Ed25519.
 */
export async function issueDeviceCertificate(
  ca: DeviceCa,
  options: IssueDeviceCertificateOptions,
): Promise<IssuedDeviceCertificate> {
  if (!UUID.test(options.deviceId)) {
    throw new AppError("INTERNAL", `device id ${JSON.stringify(options.deviceId)} is not a lower-case UUID`);
  }
  const validityDays = options.validityDays ?? DEFAULT_DEVICE_CERTIFICATE_VALIDITY_DAYS;
  if (
    !Number.isInteger(validityDays) ||
    validityDays < 1 ||
    validityDays > MAX_DEVICE_CERTIFICATE_VALIDITY_DAYS
  ) {
    throw new AppError(
      "INTERNAL",
      `validityDays must be a whole number from 1 to ${MAX_DEVICE_CERTIFICATE_VALIDITY_DAYS}, got ${validityDays}`,
    );
  }
  const csr = parseCsr(options.csrPem);
  assertSupportedKey(csr);
  let signatureValid: boolean;
  try {
    signatureValid = await csr.verify(crypto);
  } catch {
    signatureValid = false;
  }
  if (!signatureValid) {
    throw csrRejected("csr_signature_invalid", "the CSR's signature does not verify with its own key");
  }

  // X.509 times have whole seconds (RFC 5280 section 4.1.2.5): drop the milliseconds up front.
  const now = wholeSeconds(options.now ?? new Date());
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  const wantedNotAfter = new Date(now.getTime() + validityDays * DAY_MS);
  const notAfter = wantedNotAfter.getTime() > ca.notAfter.getTime() ? ca.notAfter : wantedNotAfter;
  const serialNumber = randomSerialHex();
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber,
      subject: [{ CN: [options.deviceId] }],
      issuer: ca.certificate.subjectName,
      notBefore,
      notAfter,
      signingAlgorithm: ECDSA_SHA256,
      publicKey: csr.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
        await x509.SubjectKeyIdentifierExtension.create(csr.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false, crypto),
      ],
    },
    crypto,
  );
  return {
    certificatePem: certificate.toString("pem"),
    fingerprintSha256Hex: fingerprintOfDer(new Uint8Array(certificate.rawData)),
    serialNumberHex: certificate.serialNumber.toLowerCase(),
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
  };
}

function parseCsr(csrPem: string): x509.Pkcs10CertificateRequest {
  if (typeof csrPem !== "string" || csrPem.length > MAX_CSR_PEM_LENGTH) {
    throw csrRejected(
      "csr_malformed",
      `must be a PEM certificate request of at most ${MAX_CSR_PEM_LENGTH} characters`,
    );
  }
  const pem = CSR_PEM.exec(csrPem)?.[0];
  if (pem === undefined) {
    throw csrRejected(
      "csr_malformed",
      'must be a PEM PKCS#10 request ("-----BEGIN CERTIFICATE REQUEST-----")',
    );
  }
  try {
    return new x509.Pkcs10CertificateRequest(
      pem.replaceAll("NEW CERTIFICATE REQUEST", "CERTIFICATE REQUEST"),
    );
  } catch (error) {
    throw csrRejected("csr_malformed", `is not a valid PKCS#10 request: ${(error as Error).message}`);
  }
}

function assertSupportedKey(csr: x509.Pkcs10CertificateRequest): void {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: "der", type: "spki" });
  } catch (error) {
    throw csrRejected("csr_malformed", `has an unreadable public key: ${(error as Error).message}`);
  }
  const isP256 = key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1";
  if (isP256 || key.asymmetricKeyType === "ed25519") return;
  const described =
    key.asymmetricKeyType === "rsa"
      ? `RSA-${key.asymmetricKeyDetails?.modulusLength ?? "?"}`
      : key.asymmetricKeyType === "ec"
        ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? "?"}`
        : (key.asymmetricKeyType ?? "unknown");
  throw csrRejected("csr_key_unsupported", `key must be EC P-256 or Ed25519, not ${described}`);
}

function csrRejected(reason: CsrRejectionReason, message: string): AppError {
  return new AppError("VALIDATION_FAILED", `invalid csr_pem: ${message}`, {
    reason,
    fieldErrors: [{ path: "csr_pem", message }],
  });
}

/** SHA-256 of a certificate's DER encoding, lower-case hex (64 characters). */
export function fingerprintOfDer(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

/**
 * SHA-256 of the DER of the (first) certificate in PEM text, lower-case hex. Throws AppError
 * VALIDATION_FAILED when the text holds no certificate.
 */
export function fingerprintOfPem(pem: string): string {
  let certificate: NodeX509Certificate;
  try {
    certificate = new NodeX509Certificate(pem);
  } catch (error) {
    throw new AppError("VALIDATION_FAILED", `not a PEM certificate: ${(error as Error).message}`);
  }
  return fingerprintOfDer(certificate.raw);
}

export interface GeneratedCsr {
  /** PKCS#8 PEM of the new EC P-256 key. Stays on the device (store it 0600). */
  privateKeyPem: string;
  /** PKCS#10 PEM, signed with that key: what RegisterRequest.csr_pem carries. */
  csrPem: string;
}

/**
 * For the agent: generate an EC P-256 key locally and a CSR for it. Only the CSR is sent; the
 * private key never leaves the device. The CA ignores the CSR's subject, so `commonName` is only
 * a label for people reading the CSR (the hostname, say).
 */
export async function createCsr(options: { commonName: string }): Promise<GeneratedCsr> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: [{ CN: [options.commonName] }],
      keys,
      signingAlgorithm: ECDSA_SHA256,
    },
    crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const privateKeyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" })
    .export({ format: "pem", type: "pkcs8" })
    .toString();
  return { privateKeyPem, csrPem: csr.toString("pem") };
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** 16 random bytes as hex, top bit cleared (a positive DER INTEGER) and next bit set (always 16 bytes long). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** Create `path` exclusively (O_EXCL) with `mode`, independent of the process umask. */
function writeNewFile(path: string, contents: string, mode: number): void {
  let fd: number;
  try {
    fd = openSync(path, "wx", mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw configInvalid(`refusing to overwrite existing file ${path}`);
    }
    throw error;
  }
  try {
    fchmodSync(fd, mode);
    writeSync(fd, contents);
  } finally {
    closeSync(fd);
  }
}

function configInvalid(message: string): AppError {
  return new AppError("CONFIG_INVALID", message);
}

// ---------------------------------------------------------------------------------------------
// The device listener's server certificate.

/** Lifetime of a generated server certificate (the CA/Browser Forum's old ceiling; clients here pin the CA). */
export const SERVER_CERTIFICATE_VALIDITY_DAYS = 825;

export interface ServerCertificatePaths {
  /** PKCS#8 PEM private key of the server, mode 0600. */
  keyPath: string;
  /** PEM server certificate issued by the device CA. */
  certPath: string;
  /** DNS names and IP addresses (subjectAltName) of a newly created certificate; the first is its CN. */
  names: string[];
  /** Clock, for tests. */
  now?: Date;
}

export interface ServerCertificate {
  certificatePem: string;
  privateKeyPem: string;
  notAfter: Date;
  /** True when this call generated key and certificate. */
  created: boolean;
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/**
 * The TLS server certificate of the device listener (/api/v1/device/*), issued by the device CA so
 * that an agent trusts exactly one certificate: the CA it receives at registration
 * (RegisterResponse.ca_certificate_pem) anchors both directions. The certificate carries
 * extKeyUsage serverAuth only, device certificates clientAuth only, so neither can stand in for the
 * other. Created (key 0600) when neither file exists; an existing pair must match, chain to `ca`
 * and be unexpired, otherwise AppError CONFIG_INVALID (delete both files to have them re-created).
 */
export async function loadOrCreateServerCertificate(
  ca: DeviceCa,
  options: ServerCertificatePaths,
): Promise<ServerCertificate> {
  const now = options.now ?? new Date();
  const keyExists = existsSync(options.keyPath);
  const certExists = existsSync(options.certPath);
  if (keyExists !== certExists) {
    throw configInvalid(
      `device server ${keyExists ? "key" : "certificate"} ${keyExists ? options.keyPath : options.certPath} exists but its ${keyExists ? "certificate" : "key"} does not`,
    );
  }
  if (keyExists) return loadServerCertificate(ca, options, now);
  if (options.names.length === 0) throw configInvalid("device server certificate needs at least one name");

  const nowSeconds = wholeSeconds(now);
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const notBefore = new Date(nowSeconds.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  const wanted = new Date(nowSeconds.getTime() + SERVER_CERTIFICATE_VALIDITY_DAYS * DAY_MS);
  const notAfter = wanted.getTime() > ca.notAfter.getTime() ? ca.notAfter : wanted;
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: [{ CN: [options.names[0] as string] }],
      issuer: ca.certificate.subjectName,
      notBefore,
      notAfter,
      signingAlgorithm: ECDSA_SHA256,
      publicKey: keys.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          options.names.map((name) => ({
            type: IPV4.test(name) || name.includes(":") ? ("ip" as const) : ("dns" as const),
            value: name,
          })),
          false,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.certificate, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const privateKeyPem = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" })
    .export({ format: "pem", type: "pkcs8" })
    .toString();
  const certificatePem = certificate.toString("pem");
  mkdirSync(dirname(options.keyPath), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(options.certPath), { recursive: true, mode: 0o755 });
  writeNewFile(options.keyPath, privateKeyPem, PRIVATE_FILE_MODE);
  try {
    writeNewFile(options.certPath, certificatePem, PUBLIC_FILE_MODE);
  } catch (error) {
    unlinkSync(options.keyPath);
    throw error;
  }
  return { certificatePem, privateKeyPem, notAfter: certificate.notAfter, created: true };
}

async function loadServerCertificate(
  ca: DeviceCa,
  options: ServerCertificatePaths,
  now: Date,
): Promise<ServerCertificate> {
  const mode = statSync(options.keyPath).mode;
  if ((mode & GROUP_OTHER_BITS) !== 0) {
    throw configInvalid(
      `device server key ${options.keyPath} has mode ${(mode & 0o777).toString(8)}; it must not be accessible by group or others (chmod 600)`,
    );
  }
  const privateKeyPem = readFileSync(options.keyPath, "utf8");
  const certificatePem = readFileSync(options.certPath, "utf8");
  let certificate: NodeX509Certificate;
  let keyObject: KeyObject;
  try {
    certificate = new NodeX509Certificate(certificatePem);
    keyObject = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw configInvalid(`cannot read the device server key pair: ${(error as Error).message}`);
  }
  if (!certificate.checkPrivateKey(keyObject)) {
    throw configInvalid(`device server key ${options.keyPath} is not the key of ${options.certPath}`);
  }
  const caCertificate = new NodeX509Certificate(ca.certificatePem);
  if (!certificate.checkIssued(caCertificate) || !certificate.verify(caCertificate.publicKey)) {
    throw configInvalid(
      `device server certificate ${options.certPath} was not issued by the device CA (was the CA re-created?); delete ${options.certPath} and ${options.keyPath} to have them re-created`,
    );
  }
  const notAfter = new Date(certificate.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    throw configInvalid(
      `device server certificate ${options.certPath} expired on ${notAfter.toISOString()}; delete it and its key to have them re-created`,
    );
  }
  return { certificatePem, privateKeyPem, notAfter, created: false };
}
