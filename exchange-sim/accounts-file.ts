// The accounts file (and the body of POST /admin/accounts): API keys with their secret or Ed25519 public key,
// starting balances and permissions. Validation errors name the field path and what is allowed.

import { z } from "zod";
import { ed25519PublicKey } from "./credentials.ts";

const decimalString = z
  .string()
  .regex(
    /^[0-9]{1,20}(\.[0-9]{1,8})?$/,
    'must be a decimal string with at most 8 decimals, like "10000" or "0.5"',
  );

const assetName = z
  .string()
  .regex(/^[A-Z0-9]{1,20}$/, "asset names are upper-case letters and digits, like USDT");

export const accountEntrySchema = z
  .strictObject({
    apiKey: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,128}$/, "must be 1 to 128 characters of letters, digits, '.', '_' or '-'"),
    secret: z.string().min(1, "must not be empty").optional(),
    publicKeyPem: z.string().optional(),
    balances: z.record(assetName, decimalString).optional(),
    canWithdraw: z.boolean().default(false),
    canTrade: z.boolean().default(true),
    accountId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1 to 64 characters of letters, digits, '.', '_' or '-'")
      .optional(),
    commission: z.strictObject({ maker: decimalString, taker: decimalString }).optional(),
  })
  .superRefine((entry, context) => {
    if ((entry.secret === undefined) === (entry.publicKeyPem === undefined)) {
      context.addIssue({
        code: "custom",
        path: ["secret"],
        message: "give exactly one of secret (HMAC-SHA256) or publicKeyPem (Ed25519)",
      });
    }
    if (entry.publicKeyPem !== undefined) {
      try {
        ed25519PublicKey(entry.publicKeyPem);
      } catch (error) {
        context.addIssue({ code: "custom", path: ["publicKeyPem"], message: (error as Error).message });
      }
    }
  });

export type AccountEntry = z.infer<typeof accountEntrySchema>;
export type AccountEntryInput = z.input<typeof accountEntrySchema>;

export const accountsFileSchema = z.array(accountEntrySchema).min(1, "must list at least one account");

function issuePath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path)
    text += typeof part === "number" ? `[${part}]` : `${text === "" ? "" : "."}${String(part)}`;
  return text === "" ? "(top level)" : text;
}

export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      // Record keys are checked by a nested schema whose messages say what is allowed.
      const nested =
        "issues" in issue && Array.isArray(issue.issues) ? (issue.issues as z.core.$ZodIssue[]) : [];
      const message = nested.length > 0 ? nested.map((inner) => inner.message).join(", ") : issue.message;
      return `${issuePath(issue.path)}: ${message}`;
    })
    .join("; ");
}

/** Parses the accounts file's text; throws one message listing every problem with its field path. */
export function parseAccountsFile(text: string, fileName: string): AccountEntry[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`accounts file ${fileName}: not valid JSON (${(error as Error).message})`);
  }
  const result = accountsFileSchema.safeParse(document);
  if (!result.success) throw new Error(`accounts file ${fileName}: ${formatIssues(result.error)}`);
  return result.data;
}

/** Validates one account entry (in-process options or POST /admin/accounts). */
export function parseAccountEntry(value: unknown, where: string): AccountEntry {
  const result = accountEntrySchema.safeParse(value);
  if (!result.success) throw new Error(`${where}: ${formatIssues(result.error)}`);
  return result.data;
}
