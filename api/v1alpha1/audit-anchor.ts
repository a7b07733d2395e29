import { z } from "zod";

// Anchoring the audit chain in the API server: the runtime reports the head of its bot's chain on /status,
// the operator copies it into status.audit and, now and then, into an AuditAnchor Event, and
// `bot-runtime audit verify --anchors` reads both back and holds the database to them. A table rewritten
// consistently by someone with the database owner's rights still verifies on its own; it no longer
// matches what the API server was told before the rewrite. The shape of the head and the Event's note
// are defined here only: the operator writes them, the runtime reads them.

/** A hash of the audit chain: lowercase hex SHA-256 (bot-runtime/store/audit-chain.ts). */
export const AUDIT_HASH = /^[0-9a-f]{64}$/;

/** The newest audit row a runtime wrote: its position in the bot's chain and its row_hash. */
export const AuditHead = z.strictObject({
  sequence: z.number().int().min(1).describe("The audit row's seq: its position in the bot's chain, from 1."),
  hash: z
    .string()
    .max(64)
    .regex(AUDIT_HASH)
    .describe("The audit row's row_hash (hex SHA-256), which covers every row before it."),
});
export type AuditHead = z.infer<typeof AuditHead>;

/** The reason of the Events that anchor a bot's audit chain head. */
export const AUDIT_ANCHOR_EVENT_REASON = "AuditAnchor";

/** The note of an AuditAnchor Event: the one place its wording is written. */
export function auditAnchorNote(head: AuditHead): string {
  return `Audit chain head anchored: sequence ${head.sequence}, hash ${head.hash}.`;
}

const NOTE = /^Audit chain head anchored: sequence ([1-9][0-9]{0,15}), hash ([0-9a-f]{64})\.$/;

/** The head an AuditAnchor Event's note records, or undefined for a note that is not one. */
export function readAuditAnchorNote(note: string): AuditHead | undefined {
  const match = NOTE.exec(note);
  if (match === null) return undefined;
  const sequence = Number(match[1]);
  if (!Number.isSafeInteger(sequence)) return undefined;
  return { sequence, hash: match[2] as string };
}
