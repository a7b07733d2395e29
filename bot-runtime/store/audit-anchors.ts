import type { ChainAnchor, ChainVerdict } from "./audit-chain.ts";

// `bot-runtime audit verify --anchors`: a chain that verifies on its own may still have been rewritten
// whole by someone with the database owner's rights, who can recompute every hash. What the API server was
// told before (the TradingBot's status.audit and its AuditAnchor Events) cannot be recomputed: every
// anchored sequence must still be in the database with exactly the anchored hash, and the database must
// reach the newest anchor. Pure: the database's facts and the anchors in, a finding per anchor out.

/** A chain head recorded in the API server, and where it was read. */
export type Anchor = { sequence: number; hash: string; source: string };

/** What the database holds of one bot's chain, for the anchors' sequences. */
export type ChainFacts = {
  /** The chain checked on its own, from where pruning left it. */
  verdict: ChainVerdict;
  /** Where audit retention left the chain's start (rows up to it are gone); undefined if never pruned. */
  prunedThrough: ChainAnchor | undefined;
  /** The highest seq in the database (or the pruning anchor's when no row is left); 0 for none. */
  lastSequence: number;
  /** row_hash of the rows at the anchors' sequences that are in the database. */
  hashes: ReadonlyMap<number, string>;
};

export type AnchorFinding =
  | { anchor: Anchor; result: "matches" }
  | { anchor: Anchor; result: "differs"; databaseHash: string }
  /** Older than what audit retention kept: nothing left to compare with. */
  | { anchor: Anchor; result: "pruned"; prunedThrough: number }
  /** The database has no row at this sequence: it ends before it. */
  | { anchor: Anchor; result: "missing" }
  /** The hash matches, but the chain is broken before it, so that row proves nothing. */
  | { anchor: Anchor; result: "unverified"; brokenAt: number };

export type AnchorCheck = {
  findings: AnchorFinding[];
  /** Why the database does not hold what the API server anchored, most telling first; empty when it does. */
  failures: string[];
};

/** Anchors by sequence, oldest first; one anchor per sequence and hash (status and Event often agree). */
export function distinctAnchors(anchors: readonly Anchor[]): Anchor[] {
  const seen = new Map<string, Anchor>();
  for (const anchor of anchors) {
    const key = `${anchor.sequence}:${anchor.hash}`;
    if (!seen.has(key)) seen.set(key, anchor);
  }
  return [...seen.values()].sort((a, b) => a.sequence - b.sequence || a.source.localeCompare(b.source));
}

function findingFor(anchor: Anchor, facts: ChainFacts): AnchorFinding {
  const pruned = facts.prunedThrough;
  if (pruned !== undefined && anchor.sequence <= pruned.throughSeq) {
    if (anchor.sequence < pruned.throughSeq) {
      return { anchor, result: "pruned", prunedThrough: pruned.throughSeq };
    }
    return pruned.hash === anchor.hash
      ? { anchor, result: "matches" }
      : { anchor, result: "differs", databaseHash: pruned.hash };
  }
  const stored = facts.hashes.get(anchor.sequence);
  if (stored === undefined) return { anchor, result: "missing" };
  if (stored !== anchor.hash) return { anchor, result: "differs", databaseHash: stored };
  const verdict = facts.verdict;
  if (!verdict.intact && anchor.sequence >= verdict.brokenRow.seq) {
    return { anchor, result: "unverified", brokenAt: verdict.brokenRow.seq };
  }
  return { anchor, result: "matches" };
}

export function checkAnchors(facts: ChainFacts, anchors: readonly Anchor[]): AnchorCheck {
  const findings = distinctAnchors(anchors).map((anchor) => findingFor(anchor, facts));
  const failures: string[] = [];
  const differs = findings.find((f) => f.result === "differs");
  if (differs?.result === "differs") {
    failures.push(
      `sequence ${differs.anchor.sequence} no longer matches its anchor: the database has hash ` +
        `${differs.databaseHash}, the API server anchored ${differs.anchor.hash} (${differs.anchor.source})`,
    );
  }
  const newest = findings.at(-1);
  if (findings.some((f) => f.result === "missing") && newest !== undefined) {
    failures.push(
      facts.lastSequence < newest.anchor.sequence
        ? `the database ends at ${facts.lastSequence} but the API server anchored ${newest.anchor.sequence} (${newest.anchor.source})`
        : `the database has no row at an anchored sequence (${findings
            .filter((f) => f.result === "missing")
            .map((f) => f.anchor.sequence)
            .join(", ")})`,
    );
  }
  const verdict = facts.verdict;
  if (!verdict.intact && newest !== undefined && verdict.brokenRow.seq <= newest.anchor.sequence) {
    failures.push(
      `the chain is broken at sequence ${verdict.brokenRow.seq}, so it does not verify up to the newest anchor (${newest.anchor.sequence})`,
    );
  }
  return { findings, failures };
}

/** One line per finding, for the command's report. */
export function describeFinding(finding: AnchorFinding): string {
  const { sequence, source } = finding.anchor;
  switch (finding.result) {
    case "matches":
      return `anchor sequence ${sequence} (${source}): hash matches`;
    case "differs":
      return `anchor sequence ${sequence} (${source}): DIFFERS: the database has ${finding.databaseHash}, the API server anchored ${finding.anchor.hash}`;
    case "pruned":
      return `anchor sequence ${sequence} (${source}): pruned by audit retention (the chain starts after ${finding.prunedThrough}), not checked`;
    case "missing":
      return `anchor sequence ${sequence} (${source}): MISSING from the database`;
    case "unverified":
      return `anchor sequence ${sequence} (${source}): hash matches, but the chain is broken at ${finding.brokenAt}, before it`;
  }
}
