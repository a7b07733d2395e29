import { Decrypter, Encrypter } from "age-encryption";
import { BackupRefused } from "./format.ts";

// age keys as the backup and restore commands take them, and age's failures in words an operator can act
// on. Recipients (age1...) are public and may be named in messages; identities (AGE-SECRET-KEY-1...) are
// secret: no message here ever quotes one, nor an error of the library that decoded one (its bech32
// decoder quotes its input).

/** The lines of an age keys file (age-keygen's, or a recipients file), without comments and blanks. */
function keyLines(text: string): { line: number; value: string }[] {
  return text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((value, index) => ({ line: index + 1, value: value.trim() }))
    .filter(({ value }) => value !== "" && !value.startsWith("#"));
}

/**
 * Checks each recipient with age itself; `source` says where it came from (`--recipient`, or the recipients
 * file and line) for the message.
 */
export function checkRecipients(recipients: readonly { value: string; source: string }[]): string[] {
  if (recipients.length === 0) {
    throw new Error(
      "no recipient: give --recipient age1... (repeatable) or --recipients-file FILE, so that the backup is encrypted",
    );
  }
  for (const { value, source } of recipients) {
    if (value.startsWith("ssh-")) {
      throw new Error(
        `${source}: SSH keys are not supported as recipients; use an age key (age1..., from age-keygen)`,
      );
    }
    try {
      new Encrypter().addRecipient(value);
    } catch {
      throw new Error(
        `${source}: ${JSON.stringify(value)} is not an age recipient (age1... or age1pq1..., as age-keygen -y prints)`,
      );
    }
  }
  return [...new Set(recipients.map(({ value }) => value))];
}

export function recipientsFromFile(text: string, path: string): { value: string; source: string }[] {
  return keyLines(text).map(({ line, value }) => ({
    value,
    source: `--recipients-file ${path} line ${line}`,
  }));
}

/** The secret keys of an identity file; a line that is not one is named by number, never quoted. */
export function identitiesFromFile(text: string, path: string): string[] {
  const identities: string[] = [];
  for (const { line, value } of keyLines(text)) {
    const where = `--identity-file ${path} line ${line}`;
    if (!value.startsWith("AGE-SECRET-KEY-1") && !value.startsWith("AGE-SECRET-KEY-PQ-1")) {
      throw new Error(`${where} is not an age identity (AGE-SECRET-KEY-1... as age-keygen writes it)`);
    }
    try {
      new Decrypter().addIdentity(value);
    } catch {
      throw new Error(`${where} is not a valid age identity (its checksum or length is wrong)`);
    }
    identities.push(value);
  }
  if (identities.length === 0) throw new Error(`--identity-file ${path} holds no age identity`);
  return identities;
}

/** age's own failure messages (age-encryption 0.3), by what they mean for a backup. */
const AGE_FAILURES: { pattern: RegExp; meaning: string }[] = [
  {
    pattern: /no identity matched/i,
    meaning:
      "no identity matches this backup's recipients: it was encrypted to other age keys (check --identity-file)",
  },
  {
    pattern: /invalid header HMAC/i,
    meaning:
      "the backup's age header failed its MAC check: the file was changed or damaged after it was written",
  },
  {
    pattern: /invalid tag|final chunk is empty|ciphertext (is too small|size is invalid)/i,
    meaning:
      "the backup's encrypted content failed age authentication (its MAC): the file was changed, damaged or truncated after it was written",
  },
  {
    pattern:
      /invalid (version|header|stanza|non-ASCII byte in header)|invalid X25519 stanza|invalid mlkem768x25519 stanza/i,
    meaning: "the file is not an age-encrypted backup, or its age header is damaged",
  },
];

/**
 * A failure while decrypting, as BackupRefused when age recognised the file as damaged, altered or not
 * meant for these identities; anything else (a read error) is returned unchanged.
 */
export function explainDecryptionFailure(error: unknown): Error {
  if (error instanceof BackupRefused) return error;
  const message = error instanceof Error ? error.message : String(error);
  const failure = AGE_FAILURES.find(({ pattern }) => pattern.test(message));
  if (failure !== undefined) return new BackupRefused(failure.meaning);
  return error instanceof Error ? error : new Error(message);
}
