import {
  AUDIT_ANCHOR_EVENT_REASON,
  auditAnchorNote,
  type TradingBotStatus,
} from "../../api/v1alpha1/index.ts";
import type { BotEvent } from "../kube/events.ts";
import { newAuditAnchor } from "./audit-anchor.ts";
import type { HaltDecision } from "./halt.ts";
import type { PodPlan } from "./pod-lifecycle.ts";

// Which Events a reconcile records, from the status before and after it and what it decided. Only
// transitions produce Events, so a resync of an unchanged bot records none.

const conditionOf = (status: TradingBotStatus | undefined, type: string) =>
  status?.conditions?.find((c) => c.type === type);

export function transitionEvents(
  before: TradingBotStatus | undefined,
  after: TradingBotStatus,
  halt: HaltDecision,
  plan: PodPlan,
): BotEvent[] {
  const events: BotEvent[] = [];
  const wasHalted = before?.halt?.engaged === true;
  const [primary] = halt.sources;
  if (halt.newRiskLatch) {
    events.push({
      type: "Warning",
      reason: "RiskHaltLatched",
      action: "Halt",
      note: `${halt.newRiskLatch.reason}. Halt id ${halt.newRiskLatch.id}: set spec.killSwitch.acknowledgeHalt to it to release the bot.`,
    });
  }
  if (halt.halted && primary && (!wasHalted || before?.halt?.source !== primary.source)) {
    events.push({
      type: "Warning",
      reason: "Halted",
      action: "Halt",
      note: `Halted by ${primary.source}${primary.by === undefined ? "" : ` (engaged by ${primary.by})`}: ${primary.reason}.${wasHalted ? "" : " Stopping the bot pod, then closing its egress."}`,
    });
  }
  const stoppedBy = after.halt?.stoppedBy;
  if (halt.halted && primary && stoppedBy !== undefined && before?.halt?.stoppedBy !== stoppedBy) {
    events.push({
      type: "Normal",
      reason: "TradingStopped",
      action: "Halt",
      note:
        stoppedBy === "Runtime"
          ? `The bot's runtime saw the halt (${primary.source}) on its own watch and stopped trading before its pod was deleted.`
          : `The bot's runtime stopped trading when its pod was deleted (${primary.source}), before its own watch saw the halt.`,
    });
  }
  if (halt.acknowledged) {
    events.push({
      type: "Normal",
      reason: "HaltAcknowledged",
      action: "Resume",
      note: `Latched risk halt ${halt.acknowledged} acknowledged.`,
    });
  }
  if (halt.refusedAcknowledgement !== undefined && before?.halt?.message !== after.halt?.message) {
    events.push({
      type: "Warning",
      reason: "AcknowledgementRefused",
      action: "Halt",
      note: after.halt?.message ?? "",
    });
  }
  if (wasHalted && !halt.halted) {
    events.push({
      type: "Normal",
      reason: "Resumed",
      action: "Resume",
      note: `No halt holds the bot any more${halt.releasedBy === undefined ? "" : ` (${before?.halt?.source ?? "its halt"} released by ${halt.releasedBy})`}: starting it.`,
    });
  }

  const credentialsBefore = conditionOf(before, "CredentialsAvailable");
  const credentialsAfter = conditionOf(after, "CredentialsAvailable");
  if (
    credentialsAfter?.status === "False" &&
    (credentialsBefore?.status !== "False" || credentialsBefore.message !== credentialsAfter.message)
  ) {
    events.push({
      type: "Warning",
      reason: credentialsAfter.reason,
      action: "CheckCredentials",
      note: credentialsAfter.message,
    });
  }
  if (credentialsAfter?.status === "True" && credentialsBefore?.status === "False") {
    events.push({
      type: "Normal",
      reason: "CredentialsAvailable",
      action: "CheckCredentials",
      note: "Every referenced Secret is complete.",
    });
  }

  const rotationBefore = conditionOf(before, "CredentialsRotationDue");
  const rotationAfter = conditionOf(after, "CredentialsRotationDue");
  if (rotationAfter?.status === "True" && rotationBefore?.status !== "True") {
    events.push({
      type: "Warning",
      reason: "CredentialsRotationDue",
      action: "CheckCredentials",
      note: rotationAfter.message,
    });
  }
  if (rotationAfter?.status === "False" && rotationBefore?.status === "True") {
    events.push({
      type: "Normal",
      reason: "CredentialsRotated",
      action: "CheckCredentials",
      note: rotationAfter.message,
    });
  }

  const readyBefore = conditionOf(before, "Ready");
  const readyAfter = conditionOf(after, "Ready");
  for (const reason of [
    "InvalidSpec",
    "PolicyViolation",
    "NameConflict",
    "PodFailed",
    "UnsafeCredentials",
    "Unsupervised",
  ]) {
    if (
      readyAfter?.reason === reason &&
      (readyBefore?.reason !== reason || readyBefore.message !== readyAfter.message)
    ) {
      events.push({ type: "Warning", reason, action: "Reconcile", note: readyAfter.message });
    }
  }
  const anchor = newAuditAnchor(before?.audit, after.audit);
  if (anchor !== undefined) {
    events.push({
      type: "Normal",
      reason: AUDIT_ANCHOR_EVENT_REASON,
      action: "AnchorAudit",
      note: auditAnchorNote(anchor),
    });
  }
  if (plan.action === "replace") {
    events.push({
      type: "Normal",
      reason: "Restarting",
      action: "Stop",
      note: `Replacing the bot pod: ${plan.detail}.`,
    });
  }
  return events;
}
