import { hashPassword } from "./server/passwords.ts";

// `console hash-password`: reads a password from stdin (never from the command line, where other users
// and shell histories see it) and prints its argon2id hash for the users file.

export async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** The hash of the password in `input`, without the one line ending a pipe or a terminal adds. */
export async function hashPasswordCommand(input: string): Promise<string> {
  const password = input.replace(/\r?\n$/, "");
  if (password === "")
    throw new Error(
      "hash-password: no password on stdin (pipe it in, such as: printf '%s' \"$PW\" | console hash-password)",
    );
  if (password.length > 1024) throw new Error("hash-password: the password is longer than 1024 characters");
  return hashPassword(password);
}
