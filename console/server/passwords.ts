import { argon2, randomBytes, timingSafeEqual } from "node:crypto";

// Password hashes are argon2id in the PHC string format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), the
// format every argon2 tool reads and writes, computed with Node's built-in argon2 (no native addon).

export interface Argon2Params {
  /** Memory in KiB. */
  memoryKiB: number;
  passes: number;
  parallelism: number;
}

/** OWASP's recommended minimum for argon2id (19 MiB, 2 passes, 1 lane). */
export const DEFAULT_ARGON2_PARAMS: Argon2Params = { memoryKiB: 19_456, passes: 2, parallelism: 1 };

const TAG_BYTES = 32;
const SALT_BYTES = 16;

export interface PasswordHash {
  params: Argon2Params;
  salt: Buffer;
  hash: Buffer;
}

const PHC =
  /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{16,})$/;

/** Reads a PHC string; throws naming what is wrong (never echoing the hash). */
export function parsePasswordHash(phc: string): PasswordHash {
  const match = PHC.exec(phc);
  if (!match) {
    throw new Error(
      "passwordHash: must be an argon2id PHC string such as $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>",
    );
  }
  const [, m, t, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  const params = { memoryKiB: Number(m), passes: Number(t), parallelism: Number(p) };
  if (params.memoryKiB < 8 * params.parallelism || params.passes < 1 || params.parallelism < 1) {
    throw new Error("passwordHash: argon2id parameters out of range (m >= 8*p, t >= 1, p >= 1)");
  }
  return { params, salt: Buffer.from(salt, "base64"), hash: Buffer.from(hash, "base64") };
}

function derive(password: string, salt: Buffer, params: Argon2Params, tagLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    argon2(
      "argon2id",
      {
        message: Buffer.from(password, "utf8"),
        nonce: salt,
        memory: params.memoryKiB,
        passes: params.passes,
        parallelism: params.parallelism,
        tagLength,
      },
      (error, derived) => (error ? reject(error) : resolve(derived)),
    ),
  );
}

const unpadded = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");

export async function hashPassword(password: string, params = DEFAULT_ARGON2_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, params, TAG_BYTES);
  return `$argon2id$v=19$m=${params.memoryKiB},t=${params.passes},p=${params.parallelism}$${unpadded(salt)}$${unpadded(hash)}`;
}

/** Whether `password` matches; the comparison takes the same time wherever the first difference is. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const derived = await derive(password, stored.salt, stored.params, stored.hash.length);
  return timingSafeEqual(derived, stored.hash);
}
