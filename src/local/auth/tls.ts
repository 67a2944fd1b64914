/**
 * TLS material for the local control plane: a given certificate + key, or a self-signed CA and a
 * server certificate generated into `<data-dir>/tls/`. Keys come from node:crypto; node-forge
 * (pure JS) only writes the X.509 certificates, so validity dates and SANs are fully ours (tests
 * need certificates that expired in the past).
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";
import { promises as fsp } from "node:fs";
import { isIP } from "node:net";
import * as path from "node:path";
import forge from "node-forge";
import { atomicWrite } from "../atomic-fs.js";

export interface KeyAndCert {
  /** PEM */
  cert: string;
  /** PEM (PKCS#8) */
  key: string;
}

export interface CertificateOptions {
  commonName: string;
  /** DNS names and IP addresses the certificate is valid for (server certificates). */
  hosts?: string[];
  /** true: a CA certificate (keyCertSign); false: a TLS server certificate. */
  isCA?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  /** The issuing CA; absent: self-signed. */
  issuer?: KeyAndCert;
}

const DAY_MS = 24 * 3600 * 1000;

/** One certificate with a fresh RSA-2048 key (generated natively by node:crypto). */
export function generateCertificate(o: CertificateOptions): KeyAndCert {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: "spki", format: "pem" }).toString());
  // Positive 16-byte serial (leading nibble < 8).
  cert.serialNumber = "0" + randomBytes(16).toString("hex").slice(1);
  const now = Date.now();
  cert.validity.notBefore = o.notBefore ?? new Date(now - 5 * 60_000);
  cert.validity.notAfter = o.notAfter ?? new Date(now + (o.isCA ? 3650 : 825) * DAY_MS);
  const subject = [{ shortName: "CN", value: o.commonName }, { shortName: "O", value: "dodil ignite local control plane" }];
  cert.setSubject(subject);
  const issuerCert = o.issuer ? forge.pki.certificateFromPem(o.issuer.cert) : undefined;
  cert.setIssuer(issuerCert ? issuerCert.subject.attributes : subject);
  const extensions: object[] = o.isCA
    ? [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      ]
    : [
        { name: "basicConstraints", cA: false, critical: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: (o.hosts ?? []).map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
      ];
  extensions.push({ name: "subjectKeyIdentifier" });
  if (issuerCert) extensions.push({ name: "authorityKeyIdentifier", keyIdentifier: issuerCert.generateSubjectKeyIdentifier().getBytes() });
  cert.setExtensions(extensions);
  const signingKey = forge.pki.privateKeyFromPem(o.issuer ? o.issuer.key : keyPem);
  cert.sign(signingKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: keyPem };
}

export interface ServerTls {
  cert: string;
  key: string;
  /** The CA certificate a client should trust (generated mode), or undefined for a given certificate. */
  caCertFile?: string;
  certFile: string;
}

/** Hosts a generated server certificate covers for one listen address: loopback names plus that host when it is specific. */
export function serverHosts(listenHost: string): string[] {
  const hosts = ["localhost", "127.0.0.1", "::1"];
  const h = listenHost.replace(/^\[|\]$/g, "");
  if (h && !["0.0.0.0", "::"].includes(h) && !hosts.includes(h)) hosts.push(h);
  return hosts;
}

/**
 * The generated CA and server certificate under `<dataDir>/tls/`: reused across restarts (so a
 * client keeps trusting the same ca.pem), re-issued when the server certificate is missing, expires
 * within a day or does not cover a host it must.
 */
export async function ensureGeneratedTls(dataDir: string, hosts: string[]): Promise<ServerTls> {
  const dir = path.join(dataDir, "tls");
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const files = { caCert: path.join(dir, "ca.pem"), caKey: path.join(dir, "ca-key.pem"), cert: path.join(dir, "server.pem"), key: path.join(dir, "server-key.pem") };
  const read = async (f: string) => fsp.readFile(f, "utf8").catch(() => undefined);
  let ca: KeyAndCert | undefined;
  const [caCert, caKey] = [await read(files.caCert), await read(files.caKey)];
  if (caCert && caKey && validFor(caCert, [], DAY_MS)) ca = { cert: caCert, key: caKey };
  let fresh = false;
  if (!ca) {
    ca = generateCertificate({ commonName: "dodil ignite local CA", isCA: true });
    await atomicWrite(files.caKey, ca.key);
    await atomicWrite(files.caCert, ca.cert);
    fresh = true;
  }
  const [cert, key] = [await read(files.cert), await read(files.key)];
  if (!fresh && cert && key && validFor(cert, hosts, DAY_MS) && issuedBy(cert, ca.cert)) return { cert, key, caCertFile: files.caCert, certFile: files.cert };
  const server = generateCertificate({ commonName: hosts[0] ?? "localhost", hosts, issuer: ca });
  await atomicWrite(files.key, server.key);
  await atomicWrite(files.cert, server.cert);
  await fsp.chmod(files.caCert, 0o644).catch(() => undefined);
  return { ...server, caCertFile: files.caCert, certFile: files.cert };
}

/** A user-supplied certificate (chain) and key, checked to match before the server starts. */
export async function loadGivenTls(certFile: string, keyFile: string): Promise<ServerTls> {
  const read = async (f: string, what: string) => {
    try {
      return await fsp.readFile(f, "utf8");
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  const cert = await read(certFile, "certificate");
  const key = await read(keyFile, "key");
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new Error(`${certFile} is not a PEM certificate`);
  }
  const { createPrivateKey } = await import("node:crypto");
  let matches = false;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new Error(`${keyFile} is not a PEM private key`);
  }
  if (!matches) throw new Error(`the key ${keyFile} does not belong to the certificate ${certFile}`);
  return { cert, key, certFile };
}

function validFor(pem: string, hosts: string[], marginMs: number): boolean {
  try {
    const x = new X509Certificate(pem);
    if (Date.parse(x.validTo) - marginMs < Date.now() || Date.parse(x.validFrom) > Date.now()) return false;
    // A wildcard name (`*.ignite.localhost`) is covered when a name it stands for is.
    return hosts.every((h) => (isIP(h) ? x.checkIP(h) !== undefined : x.checkHost(h.replace(/^\*\./, "app-org.")) !== undefined));
  } catch {
    return false;
  }
}

function issuedBy(pem: string, caPem: string): boolean {
  try {
    return new X509Certificate(pem).checkIssued(new X509Certificate(caPem)) && new X509Certificate(pem).verify(new X509Certificate(caPem).publicKey);
  } catch {
    return false;
  }
}
