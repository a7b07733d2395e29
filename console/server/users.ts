import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { z } from "zod";
import { hashPassword, type PasswordHash, parsePasswordHash, verifyPassword } from "./passwords.ts";

// Local users, read from a file mounted from a Secret: `users: [{username, passwordHash, groups}]` as YAML
// or JSON. The console impersonates these names and groups, so they are held to what Kubernetes accepts
// in an Impersonate-User / Impersonate-Group header, and a name cannot pose as a system identity.

const Identity = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, {
    message: "must start with a letter or digit and use only letters, digits, '.', '_', '@' and '-'",
  })
  .refine((name) => !name.startsWith("system"), {
    message: "must not start with 'system' (reserved by Kubernetes)",
  });

const UsersFile = z.strictObject({
  users: z
    .array(
      z.strictObject({
        username: Identity,
        passwordHash: z.string().max(512),
        groups: z.array(Identity).max(64).default([]),
      }),
    )
    .max(10_000),
});

/** Whom the console acts as: the name and groups it impersonates. */
export interface Person {
  name: string;
  groups: string[];
}

export interface ConsoleUser extends Person {
  passwordHash: PasswordHash;
}

export type UserDirectory = ReadonlyMap<string, ConsoleUser>;

/** Parses a users file's text; errors name the entry and the field (never a hash's value). */
export function parseUsers(text: string, allowedGroups: readonly string[]): UserDirectory {
  let parsed: z.infer<typeof UsersFile>;
  try {
    parsed = UsersFile.parse(load(text));
  } catch (error) {
    if (error instanceof z.ZodError) {
      const issue = error.issues[0];
      throw new Error(`users file: ${issue?.path.join(".") || "(top level)"}: ${issue?.message}`);
    }
    throw new Error(`users file: not valid YAML or JSON (${(error as Error).message.split("\n")[0]})`);
  }
  const users = new Map<string, ConsoleUser>();
  parsed.users.forEach((entry, index) => {
    if (users.has(entry.username))
      throw new Error(`users file: users.${index}.username: ${entry.username} is listed twice`);
    const outside = entry.groups.filter((group) => !allowedGroups.includes(group));
    if (outside.length > 0) {
      throw new Error(
        `users file: users.${index}.groups: ${outside.join(", ")} not in --impersonate-groups (${allowedGroups.join(", ") || "none"}); the console may only impersonate the groups it is allowed`,
      );
    }
    let passwordHash: PasswordHash;
    try {
      passwordHash = parsePasswordHash(entry.passwordHash);
    } catch (error) {
      throw new Error(`users file: users.${index}.${(error as Error).message}`);
    }
    users.set(entry.username, { name: entry.username, groups: entry.groups, passwordHash });
  });
  return users;
}

export function loadUsers(path: string, allowedGroups: readonly string[]): UserDirectory {
  return parseUsers(readFileSync(path, "utf8"), allowedGroups);
}

export type Authentication =
  | { ok: true; user: ConsoleUser }
  | { ok: false; reason: "unknown_user" | "wrong_password" };

/**
 * Checks a username and password. An unknown name is checked against a stand-in hash with the same
 * parameters as the users' own, so it costs what a wrong password costs and timing tells nothing.
 */
export function passwordAuthenticator(users: UserDirectory) {
  const first = users.values().next().value as ConsoleUser | undefined;
  const standIn = hashPassword("stand-in for unknown users", first?.passwordHash.params).then(
    parsePasswordHash,
  );
  return async (username: string, password: string): Promise<Authentication> => {
    const user = users.get(username);
    const matches = await verifyPassword(password, user?.passwordHash ?? (await standIn));
    if (!user) return { ok: false, reason: "unknown_user" };
    return matches ? { ok: true, user } : { ok: false, reason: "wrong_password" };
  };
}
