import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** ECDSA P-256 keys: generated in milliseconds, accepted by Go, OpenSSL and Node alike. */
const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"];

export interface KeyPair {
  certPath: string;
  keyPath: string;
}

export interface CertificateRequest {
  /** File name stem: writes `<name>.crt` and `<name>.key`. */
  name: string;
  commonName: string;
  /** Subject organizations; Kubernetes reads them as groups of a client certificate. */
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: "server" | "client" | "server-and-client";
}

function subject(commonName: string, organizations: string[] = []): string {
  const escapeRdn = (value: string) => value.replace(/[/\\=+,]/g, (c) => `\\${c}`);
  return [...organizations.map((o) => `/O=${escapeRdn(o)}`), `/CN=${escapeRdn(commonName)}`].join("");
}

/** A self-signed certificate authority, valid for ten years, written to `<dir>/ca.crt` and `<dir>/ca.key`. */
export async function createCertificateAuthority(dir: string, commonName: string): Promise<KeyPair> {
  const pair = { certPath: join(dir, "ca.crt"), keyPath: join(dir, "ca.key") };
  await run("openssl", [
    "req",
    "-x509",
    "-new",
    ...newKey,
    "-keyout",
    pair.keyPath,
    "-out",
    pair.certPath,
    "-days",
    "3650",
    "-subj",
    subject(commonName),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  return pair;
}

/** A leaf certificate signed by `ca`, valid for one year. */
export async function issueCertificate(
  ca: KeyPair,
  dir: string,
  request: CertificateRequest,
): Promise<KeyPair> {
  const pair = { certPath: join(dir, `${request.name}.crt`), keyPath: join(dir, `${request.name}.key`) };
  const extendedUsage = {
    server: "serverAuth",
    client: "clientAuth",
    "server-and-client": "serverAuth,clientAuth",
  }[request.usage];
  const altNames = [
    ...(request.dnsNames ?? []).map((n) => `DNS:${n}`),
    ...(request.ipAddresses ?? []).map((ip) => `IP:${ip}`),
  ];
  await run("openssl", [
    "req",
    "-x509",
    "-new",
    ...newKey,
    "-keyout",
    pair.keyPath,
    "-out",
    pair.certPath,
    "-days",
    "365",
    "-subj",
    subject(request.commonName, request.organizations),
    "-CA",
    ca.certPath,
    "-CAkey",
    ca.keyPath,
    "-addext",
    "basicConstraints=critical,CA:FALSE",
    "-addext",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "-addext",
    `extendedKeyUsage=${extendedUsage}`,
    ...(altNames.length > 0 ? ["-addext", `subjectAltName=${altNames.join(",")}`] : []),
  ]);
  return pair;
}

/** An ECDSA key pair for signing tokens: `<name>.key` (private, PKCS#8) and `<name>.pub`. */
export async function createSigningKey(
  dir: string,
  name: string,
): Promise<{ privateKeyPath: string; publicKeyPath: string }> {
  const privateKeyPath = join(dir, `${name}.key`);
  const publicKeyPath = join(dir, `${name}.pub`);
  await run("openssl", [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-out",
    privateKeyPath,
  ]);
  await run("openssl", ["pkey", "-in", privateKeyPath, "-pubout", "-out", publicKeyPath]);
  return { privateKeyPath, publicKeyPath };
}
