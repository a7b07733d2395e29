import { z } from "zod";
import { BOT_PHASES, LabelKey, LabelValue, labelName, objectName } from "../../api/v1alpha1/index.ts";
import { AUDIT_PAGE_MAX } from "../db/queries.ts";

// Every input the console accepts, as zod schemas. A refusal is a 400 whose message names the field and
// what is allowed (InputError, turned into `{error}` by the error replies).

export class InputError extends Error {
  readonly statusCode = 400;
}

/** Parses `value`, or throws an InputError naming the first bad field and what it allows. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.length ? issue.path.join(".") : where;
  throw new InputError(`${field}: ${issue?.message ?? "invalid"}`);
}

/** Free text a person writes (a reason): printable, one line, so it shows and logs as it was meant. */
const text = (field: string, max: number) =>
  z
    .string({ message: `must be a string of 1 to ${max} characters` })
    .min(1, { message: `must be 1 to ${max} characters` })
    .max(max, { message: `must be 1 to ${max} characters` })
    .regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]*$/u, {
      message: `${field} must be one line of printable characters`,
    });

const Namespace = labelName("A namespace name.");
const Name = objectName("An object name.");

export const BotParams = z.strictObject({ namespace: Namespace, name: Name });
export const KillSwitchParams = z.strictObject({ name: Name });

export const BotListQuery = z.strictObject({
  namespace: Namespace.optional(),
  phase: z.enum(BOT_PHASES, { message: `must be one of ${BOT_PHASES.join(", ")}` }).optional(),
});

/** Where the chart starts: an ISO 8601 time with its zone (default: a day ago). */
export const SnapshotQuery = z.strictObject({
  since: z.iso
    .datetime({ offset: true, message: "must be an ISO 8601 time with a zone, such as 2026-01-31T12:00:00Z" })
    .optional(),
});

const positiveWhole = (max: number, what: string) =>
  z
    .string({ message: `must be ${what}` })
    .regex(/^[1-9][0-9]{0,15}$/, { message: `must be ${what}` })
    .transform(Number)
    .refine((value) => value <= max, { message: `must be ${what}` });

/** Keyset paging of the audit trail: rows with seq below `before`, newest first. */
export const AuditQuery = z.strictObject({
  before: positiveWhole(Number.MAX_SAFE_INTEGER, "a row's seq, a whole number from 1").optional(),
  limit: positiveWhole(AUDIT_PAGE_MAX, `a whole number from 1 to ${AUDIT_PAGE_MAX}`).optional(),
});

export const LoginBody = z.strictObject({
  username: z
    .string({ message: "must be a string of 1 to 128 characters" })
    .min(1, { message: "must be 1 to 128 characters" })
    .max(128, { message: "must be 1 to 128 characters" }),
  password: z
    .string({ message: "must be a string of 1 to 1024 characters" })
    .min(1, { message: "must be 1 to 1024 characters" })
    .max(1024, { message: "must be 1 to 1024 characters" }),
});

export const HaltBody = z.strictObject({ reason: text("reason", 256) });
export const EmptyBody = z.strictObject({});
export const AcknowledgeBody = z.strictObject({
  haltId: z
    .string({ message: "must be the halt's id (status.halt.id)" })
    .min(1, { message: "must be 1 to 64 characters" })
    .max(64, { message: "must be 1 to 64 characters" })
    .regex(/^[A-Za-z0-9._:-]+$/, {
      message: "must be the halt's id: letters, digits, '.', '_', ':' and '-'",
    }),
});

const MatchLabels = z
  .record(LabelKey, LabelValue)
  .refine((labels) => Object.keys(labels).length >= 1 && Object.keys(labels).length <= 32, {
    message: "must have 1 to 32 labels",
  });

export const CreateKillSwitchBody = z.strictObject({
  name: Name,
  reason: text("reason", 256),
  namespaces: z
    .array(Namespace)
    .min(1, { message: "must list at least one namespace, or be left out" })
    .max(100)
    .optional(),
  selector: z.strictObject({ matchLabels: MatchLabels }).optional(),
  confirmScope: z.string({ message: "must repeat the scope of the switch" }).max(8192),
});
