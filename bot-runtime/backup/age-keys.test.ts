import { generateIdentity, identityToRecipient } from "age-encryption";
import { describe, expect, it } from "vitest";
import {
  checkRecipients,
  explainDecryptionFailure,
  identitiesFromFile,
  recipientsFromFile,
} from "./age-keys.ts";
import { BackupRefused } from "./format.ts";

describe("age keys", () => {
  it("read an identity file as age-keygen writes it, comments and CRLF included", async () => {
    const identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    const file = `# created: 2026-01-05T03:17:00Z\r\n# public key: ${recipient}\r\n${identity}\r\n\r\n`;
    expect(identitiesFromFile(file, "/keys/backup.txt")).toEqual([identity]);
  });

  it("name a bad identity line by number and never quote it", async () => {
    const identity = await generateIdentity();
    const corrupted = `${identity.slice(0, -1)}${identity.endsWith("Q") ? "P" : "Q"}`;
    let message = "";
    try {
      identitiesFromFile(`# a comment\n${corrupted}\n`, "/keys/backup.txt");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      "--identity-file /keys/backup.txt line 2 is not a valid age identity (its checksum or length is wrong)",
    );
    expect(() => identitiesFromFile("age1notasecret\n", "/k")).toThrow(/line 1 is not an age identity/);
    expect(() => identitiesFromFile("# only comments\n", "/k")).toThrow(/holds no age identity/);
  });

  it("check recipients with age, naming where a bad one came from", async () => {
    const recipient = await identityToRecipient(await generateIdentity());
    const fromFile = recipientsFromFile(`# backups\n${recipient}\n\nage1bad\n`, "/etc/recipients");
    expect(fromFile).toEqual([
      { value: recipient, source: "--recipients-file /etc/recipients line 2" },
      { value: "age1bad", source: "--recipients-file /etc/recipients line 4" },
    ]);
    expect(() => checkRecipients(fromFile)).toThrow(
      '--recipients-file /etc/recipients line 4: "age1bad" is not an age recipient',
    );
    expect(
      checkRecipients([fromFile[0] as { value: string; source: string }, { value: recipient, source: "x" }]),
    ).toEqual([recipient]);
    expect(() => checkRecipients([{ value: "ssh-ed25519 AAAA", source: "--recipient #1" }])).toThrow(
      /SSH keys are not supported/,
    );
    expect(() => checkRecipients([])).toThrow(/no recipient/);
  });

  it("say what age's failures mean for a backup", () => {
    const meaning = (message: string) => explainDecryptionFailure(new Error(message));
    expect(meaning("no identity matched any of the file's recipients")).toEqual(
      new BackupRefused(
        "no identity matches this backup's recipients: it was encrypted to other age keys (check --identity-file)",
      ),
    );
    expect(meaning("invalid header HMAC").message).toMatch(/header failed its MAC check/);
    expect(meaning("invalid tag").message).toMatch(/failed age authentication \(its MAC\)/);
    expect(meaning("invalid version line").message).toMatch(/not an age-encrypted backup/);
    const other = new Error("EIO: i/o error, read");
    expect(explainDecryptionFailure(other)).toBe(other);
  });
});
