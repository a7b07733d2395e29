import type { AuditAnchorStatus, AuditHead } from "../../api/v1alpha1/index.ts";

// The audit chain head in the TradingBot's status, and when it also goes into an AuditAnchor Event. Pure.
// The head rides along with the status writes the runtime's report causes anyway (status.ts decides
// when): it never causes a write of its own. An Event is due every `everyRows` rows or `everyMs`, whichever
// comes first, and only for a head that moved: a bot that writes nothing records nothing.

export interface AuditAnchorCadence {
  /** An Event once the head has moved this many rows past the last one recorded in an Event. */
  everyRows: number;
  /** An Event once this long has passed since the last one, if the head moved meanwhile. */
  everyMs: number;
}

/** Whether `head`, about to be written to status.audit, is due to go into an AuditAnchor Event too. */
export function auditAnchorEventDue(
  head: AuditHead,
  lastEvent: AuditAnchorStatus["lastEvent"],
  now: number,
  cadence: AuditAnchorCadence,
): boolean {
  if (lastEvent === undefined) return true;
  if (head.sequence <= lastEvent.sequence) return false;
  return (
    head.sequence - lastEvent.sequence >= cadence.everyRows ||
    now - Date.parse(lastEvent.at) >= cadence.everyMs
  );
}

/**
 * status.audit once the runtime's reported head is mirrored: the head moves forward only. A report behind
 * what is anchored (a database restored to an earlier point, or rolled back) leaves the anchor where it
 * is, so `audit verify --anchors` still sees the rows the database lost.
 */
export function nextAuditStatus(
  current: AuditAnchorStatus | undefined,
  reported: AuditHead | undefined,
  now: string,
  cadence: AuditAnchorCadence,
): AuditAnchorStatus | undefined {
  if (reported === undefined || (current !== undefined && reported.sequence <= current.sequence)) {
    return current;
  }
  const due = auditAnchorEventDue(reported, current?.lastEvent, Date.parse(now), cadence);
  const lastEvent = due ? { sequence: reported.sequence, at: now } : current?.lastEvent;
  return {
    sequence: reported.sequence,
    hash: reported.hash,
    at: now,
    ...(lastEvent === undefined ? {} : { lastEvent }),
  };
}

/** The head an AuditAnchor Event is to record now: the status head, when this status write records one. */
export function newAuditAnchor(
  before: AuditAnchorStatus | undefined,
  after: AuditAnchorStatus | undefined,
): AuditHead | undefined {
  const recorded = after?.lastEvent;
  if (after === undefined || recorded === undefined || recorded.sequence !== after.sequence) return undefined;
  if (before?.lastEvent?.sequence === recorded.sequence) return undefined;
  return { sequence: after.sequence, hash: after.hash };
}
