import { AUDIT_ANCHOR_EVENT_REASON, readAuditAnchorNote } from "../../api/v1alpha1/audit-anchor.ts";
import { GROUP, TRADING_BOT, VERSION } from "../../api/v1alpha1/group.ts";
import { AuditAnchorStatus } from "../../api/v1alpha1/tradingbot.ts";
import type { Anchor } from "../store/audit-anchors.ts";
import { type KubeAccess, kubeGet } from "./kube-access.ts";

// The anchors of one bot's audit chain in the API server: its TradingBot's status.audit (lasting) and its
// AuditAnchor Events (history, for as long as the API server keeps Events). A chain is keyed by its
// TradingBot's uid: a TradingBot of the same name created later, and its Events, anchor another chain.

export type ChainOwner = { namespace: string; name: string; uid: string };

export type ApiAnchors = {
  anchors: Anchor[];
  /** Why some anchors a reader might expect are not there (the TradingBot is gone or is another one). */
  notes: string[];
  /** What is wrong with the anchors themselves: the check fails on it. */
  problems: string[];
  /** Whether the chain's own TradingBot (its uid) still exists: one that does should have anchors. */
  botExists: boolean;
};

type BotObject = { metadata?: { uid?: string }; status?: { audit?: unknown } };
type EventObject = {
  metadata?: { name?: string };
  reason?: string;
  note?: string;
  eventTime?: string;
  regarding?: { kind?: string; uid?: string };
};

/** The anchor of status.audit, when `bot` is the chain's TradingBot and has one. */
export function statusAnchor(bot: BotObject | undefined, owner: ChainOwner): ApiAnchors {
  const which = `TradingBot ${owner.namespace}/${owner.name}`;
  if (bot === undefined) {
    return { anchors: [], notes: [`${which} no longer exists`], problems: [], botExists: false };
  }
  if (bot.metadata?.uid !== owner.uid) {
    return {
      anchors: [],
      notes: [
        `${which} is another object now (uid ${bot.metadata?.uid ?? "none"}): its status anchors another chain`,
      ],
      problems: [],
      botExists: false,
    };
  }
  if (bot.status?.audit === undefined) {
    return { anchors: [], notes: [`${which} has no status.audit yet`], problems: [], botExists: true };
  }
  const audit = AuditAnchorStatus.safeParse(bot.status.audit);
  if (!audit.success) {
    // Unreadable is not "absent": a status someone mangled must not pass as a bot without anchors.
    return {
      anchors: [],
      notes: [],
      problems: [`${which} has a status.audit that does not parse`],
      botExists: true,
    };
  }
  return {
    anchors: [
      { sequence: audit.data.sequence, hash: audit.data.hash, source: `status.audit, ${audit.data.at}` },
    ],
    notes: [],
    problems: [],
    botExists: true,
  };
}

/** The anchors of the AuditAnchor Events about the chain's TradingBot. */
export function eventAnchors(events: readonly EventObject[], owner: ChainOwner): Anchor[] {
  const anchors: Anchor[] = [];
  for (const event of events) {
    if (event.reason !== AUDIT_ANCHOR_EVENT_REASON) continue;
    if (event.regarding?.kind !== TRADING_BOT.kind || event.regarding.uid !== owner.uid) continue;
    const head = readAuditAnchorNote(event.note ?? "");
    if (head === undefined) continue;
    anchors.push({
      ...head,
      source: `Event ${event.metadata?.name ?? "(unnamed)"}, ${event.eventTime ?? "no time"}`,
    });
  }
  return anchors;
}

const PAGE = 500;

function getTradingBot(access: KubeAccess, ref: { namespace: string; name: string }) {
  const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(ref.namespace)}/${TRADING_BOT.plural}/${encodeURIComponent(ref.name)}`;
  return kubeGet<BotObject>(access, path);
}

/** The uid of the TradingBot of that name: the key of the chain it anchors; undefined when there is none. */
export async function tradingBotUid(
  access: KubeAccess,
  ref: { namespace: string; name: string },
): Promise<string | undefined> {
  return (await getTradingBot(access, ref))?.metadata?.uid;
}

/** Reads the chain's anchors: GET its TradingBot, list its AuditAnchor Events (in pages). */
export async function readAnchors(access: KubeAccess, owner: ChainOwner): Promise<ApiAnchors> {
  const namespace = encodeURIComponent(owner.namespace);
  const bot = await getTradingBot(access, owner);
  const fromStatus = statusAnchor(bot, owner);
  const events: EventObject[] = [];
  let next: string | undefined;
  do {
    const query = new URLSearchParams({
      fieldSelector: `reason=${AUDIT_ANCHOR_EVENT_REASON},regarding.uid=${owner.uid}`,
      limit: String(PAGE),
      ...(next === undefined ? {} : { continue: next }),
    });
    const page = await kubeGet<{ items?: EventObject[] | null; metadata?: { continue?: string } }>(
      access,
      `/apis/events.k8s.io/v1/namespaces/${namespace}/events?${query}`,
    );
    events.push(...(page?.items ?? []));
    next = page?.metadata?.continue || undefined;
  } while (next !== undefined);
  return { ...fromStatus, anchors: [...fromStatus.anchors, ...eventAnchors(events, owner)] };
}
