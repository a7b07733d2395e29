import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import {
  readBotKillSwitch,
  readKillSwitch,
  TradingBot,
  type TradingBotSpec,
  type TradingBotStatus,
} from "../../api/v1alpha1/index.ts";
import { buildBotConfigMap, renderConfigDocument } from "../desired-state/bot-config-map.ts";
import { buildBotNetworkPolicy, type NetworkEgress } from "../desired-state/bot-network-policy.ts";
import { buildBotPod, type SecretVersions } from "../desired-state/bot-pod.ts";
import { buildBotServiceAccount } from "../desired-state/bot-service-account.ts";
import type { NetworkPolicy, Pod } from "../kube/types.ts";
import { FINALIZER } from "../names.ts";
import type { TradingBotObject } from "../resources.ts";
import type { CredentialsCheck } from "./credentials.ts";
import { type BotObservation, type BotPlan, type BotWrite, type DesiredObjects, planBot } from "./plan.ts";

// One test per rule of the reconcile's safety order: the plan is data, so the rules are read off it.

const sample = TradingBot.parse(
  load(readFileSync(new URL("../../config/samples/tradingbot-grid-paper.yaml", import.meta.url), "utf8")),
);
const identity = { name: "grid", namespace: "trading", uid: "uid-grid" };
const NOW = Date.parse("2026-03-01T12:00:00Z");
const network = {
  operatorNamespace: "tradingbot-system",
  operatorPodLabels: { "app.kubernetes.io/name": "tradingbot-operator" },
  monitoringNamespaceSelector: {},
  dnsNamespace: "kube-system",
  apiServer: { ports: [443, 6443], cidrs: [] },
};
const credentials: CredentialsCheck = {
  ok: true,
  versions: { exchange: "11", database: "12" },
  databasePort: 5432,
};

/** The real builders, recording which were asked for. */
function builders(calls: string[]): DesiredObjects {
  const config = (spec: TradingBotSpec) => renderConfigDocument(identity, spec);
  const pod = (spec: TradingBotSpec, versions: SecretVersions) =>
    buildBotPod({
      bot: identity,
      spec,
      defaultImage: "registry.local/bot:1",
      configHash: config(spec).hash,
      secretVersions: versions,
    });
  const record = <T>(call: string, build: () => T): T => {
    calls.push(call);
    return build();
  };
  return {
    serviceAccount: () => record("serviceAccount", () => buildBotServiceAccount(identity)),
    configMap: (spec) => record("configMap", () => buildBotConfigMap(identity, config(spec))),
    podSummary: (spec, versions) => record("podSummary", () => pod(spec, versions)),
    pod: (spec, versions) => record("pod", () => pod(spec, versions)),
    networkPolicy: (egress: NetworkEgress) =>
      record(egress.allowed ? "networkPolicy:open" : "networkPolicy:denied", () =>
        buildBotNetworkPolicy({ bot: identity, settings: network, egress }),
      ),
  };
}

function botObject(
  options: {
    killSwitch?: Record<string, unknown>;
    status?: TradingBotStatus;
    finalizer?: boolean;
    spec?: unknown;
  } = {},
): TradingBotObject {
  const spec = options.spec ?? {
    ...sample.spec,
    killSwitch: { ...sample.spec.killSwitch, ...options.killSwitch },
  };
  return {
    apiVersion: "trading.botops.dev/v1alpha1",
    kind: "TradingBot",
    metadata: {
      ...identity,
      generation: 2,
      resourceVersion: "100",
      labels: { desk: "btc" },
      finalizers: options.finalizer === false ? [] : [FINALIZER],
    },
    spec,
    status: options.status,
  };
}

function runningPod(grace = 30): Pod {
  const pod = buildBotPod({
    bot: identity,
    spec: sample.spec,
    defaultImage: "registry.local/bot:1",
    configHash: renderConfigDocument(identity, sample.spec).hash,
    secretVersions: credentials.ok ? credentials.versions : { exchange: "", database: "" },
  });
  return {
    ...pod,
    metadata: { ...pod.metadata, uid: "pod-uid-1", resourceVersion: "90" },
    spec: { ...pod.spec, terminationGracePeriodSeconds: grace },
    status: { phase: "Running", podIP: "10.0.0.7", conditions: [{ type: "Ready", status: "True" }] },
  };
}

const RISK_MESSAGE = JSON.stringify({
  reason: "RiskLimitBreached",
  haltId: "risk-20260301T115959-0a1b2c3d",
  limit: "maxDailyLossQuote",
  value: "-55.2",
  threshold: "50",
  at: "2026-03-01T11:59:59Z",
});

/** The pod of a runtime that halted itself on a risk limit (exit code 3 and its termination message). */
function riskExitedPod(): Pod {
  const pod = runningPod();
  return {
    ...pod,
    status: {
      phase: "Failed",
      containerStatuses: [
        {
          name: "bot",
          ready: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode: 3,
              reason: "Error",
              message: RISK_MESSAGE,
              finishedAt: "2026-03-01T11:59:59Z",
            },
          },
        },
      ],
    },
  } as Pod;
}

/** The pod of a runtime that exited 0 on a halt, with its RuntimeHaltedMessage. */
function haltedExitPod(message: Record<string, string>, finishedAt?: string): Pod {
  const pod = runningPod();
  return {
    ...pod,
    status: {
      phase: "Succeeded",
      containerStatuses: [
        {
          name: "bot",
          ready: false,
          restartCount: 0,
          state: {
            terminated: { exitCode: 0, reason: "Completed", message: JSON.stringify(message), finishedAt },
          },
        },
      ],
    },
  } as Pod;
}

function observe(
  overrides: Partial<BotObservation> & { bot?: TradingBotObject } = {},
  calls: string[] = [],
): BotObservation {
  const bot = overrides.bot ?? botObject();
  const parsed = TradingBot.shape.spec.safeParse(bot.spec);
  return {
    bot,
    spec: parsed.success ? { ok: true, spec: parsed.data } : { ok: false, issues: "spec: invalid" },
    killSwitch: readBotKillSwitch((bot.spec as { killSwitch?: unknown }).killSwitch).killSwitch,
    killSwitches: [],
    pod: runningPod(),
    goneTermination: undefined,
    owned: { serviceAccount: undefined, configMap: undefined, networkPolicy: undefined },
    credentials: undefined,
    exchangeSecret: undefined,
    conflicts: [],
    policyViolations: [],
    restarts: undefined,
    runtime: undefined,
    desired: builders(calls),
    settings: {
      mirrorIntervalMs: 60_000,
      auditAnchor: { everyRows: 1000, everyMs: 600_000 },
      deletionMarginMs: 30_000,
      maxGracePeriodSeconds: 60,
    },
    now: NOW,
    ...overrides,
  };
}

function plan(observation: BotObservation): BotPlan {
  const result = planBot(observation);
  if ("needs" in result) throw new Error(`the plan needs ${result.needs}`);
  return result;
}

/**
 * The plan, then the plan of the follow-up it asks for at once (a halt's record follows its DELETE), with
 * the pod as the API server has it after the DELETE: the writes of both, in order.
 */
function passes(observation: BotObservation): { writes: BotWrite[]; last: BotPlan } {
  const first = plan(observation);
  if (first.requeueAfterMs !== 0) return { writes: first.writes, last: first };
  const deletion = first.writes.find((w) => w.kind === "deletePod");
  const pod = observation.pod;
  const grace =
    (deletion?.kind === "deletePod" ? deletion.gracePeriodSeconds : undefined) ??
    (pod?.spec as { terminationGracePeriodSeconds: number } | undefined)?.terminationGracePeriodSeconds ??
    30;
  const terminating = pod && {
    ...pod,
    metadata: { ...pod.metadata, deletionTimestamp: new Date(NOW + grace * 1000).toISOString() },
  };
  const applied = (resource: string) =>
    first.writes.find((w) => w.kind === "apply" && w.resource === resource) as
      | Extract<BotWrite, { kind: "apply" }>
      | undefined;
  const owned = {
    ...observation.owned,
    networkPolicy:
      (applied("networkPolicies")?.object as NetworkPolicy | undefined) ?? observation.owned.networkPolicy,
  };
  const second = plan({ ...observation, pod: terminating, owned });
  return { writes: [...first.writes, ...second.writes], last: second };
}

const kinds = (writes: BotWrite[]) =>
  writes
    .map((w) => (w.kind === "apply" ? `apply:${w.resource}` : w.kind))
    .filter((k) => k !== "recordEvents");

const statusOf = (writes: BotWrite[]) =>
  writes.find((w): w is Extract<BotWrite, { kind: "writeStatus" }> => w.kind === "writeStatus")?.status;

describe("the plan of a Spec or KillSwitch halt", () => {
  it("deletes the pod first, urgently, and records the halt in status after it, in the normal lane", () => {
    const observation = observe({ bot: botObject({ killSwitch: { engaged: true, reason: "by hand" } }) });
    const first = plan(observation);
    expect(kinds(first.writes)).toEqual(["deletePod"]);
    expect(first.writes[0]).toMatchObject({ kind: "deletePod", urgent: true, cause: "halt" });
    // The record follows at once, behind every other halt's DELETE.
    expect(first).toMatchObject({ requeueAfterMs: 0, urgent: false });
    const { writes } = passes(observation);
    expect(kinds(writes)).toEqual(["deletePod", "writeStatus"]);
    expect(statusOf(writes)?.halt).toMatchObject({ engaged: true, source: "Spec", reason: "by hand" });
  });

  it("records which path stopped a runtime that already ended on its own watch, with the DELETE, before its pod and message go", () => {
    const message = { reason: "Halted", source: "Spec", noticedBy: "watch", at: "2026-03-01T11:59:59Z" };
    const ended = haltedExitPod(message);
    const result = plan(observe({ bot: botObject({ killSwitch: { engaged: true } }), pod: ended }));
    expect(kinds(result.writes).slice(0, 2)).toEqual(["deletePod", "apply:networkPolicies"]);
    expect(kinds(result.writes)).toContain("writeStatus");
    expect(statusOf(result.writes)?.halt).toMatchObject({ source: "Spec", stoppedBy: "Runtime" });
  });

  it("records which path stopped the runtime from a pod that was deleted before its end was seen", () => {
    const message = { reason: "Halted", source: "Spec", noticedBy: "watch", at: "2026-03-01T11:59:59Z" };
    const goneTermination = { podUid: "gone-pod", exitCode: 0, message: JSON.stringify(message) };
    const halted = botObject({ killSwitch: { engaged: true } });
    const result = plan(observe({ bot: halted, pod: undefined, goneTermination }));
    expect(statusOf(result.writes)?.halt).toMatchObject({ source: "Spec", stoppedBy: "Runtime" });
    // Without it, the same observation cannot say.
    const unseen = plan(observe({ bot: halted, pod: undefined }));
    expect(statusOf(unseen.writes)?.halt?.stoppedBy).toBeUndefined();
  });

  it("latches a risk halt read from a pod that was deleted before its end was seen", () => {
    const goneTermination = { podUid: "0a1b2c3d-gone", exitCode: 3, message: "not readable" };
    const result = plan(observe({ pod: undefined, goneTermination }));
    expect(statusOf(result.writes)?.halt).toMatchObject({ source: "Risk", requiresAck: true });
  });

  it("says a runtime that halted itself as Unsupervised did so, in Ready and a Warning Event, and starts it again after a backoff", () => {
    const message = {
      reason: "Halted",
      source: "Unsupervised",
      noticedBy: "watch",
      at: "2026-03-01T11:59:59Z",
    };
    const ended = haltedExitPod(message, "2026-03-01T11:59:59Z");
    // Ended a second ago: the restart waits for its backoff, as any other run's end.
    const result = plan(observe({ pod: ended, credentials }));
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    const ready = statusOf(result.writes)?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "Unsupervised" });
    expect(ready?.message).toMatch(/haltIfUnsupervisedFor/);
    expect(statusOf(result.writes)?.halt?.engaged).not.toBe(true);
    const recorded = result.writes.find((w) => w.kind === "recordEvents");
    expect(
      recorded?.kind === "recordEvents" && recorded.events.map((e) => [e.type, e.reason]),
    ).toContainEqual(["Warning", "Unsupervised"]);
  });

  it("deletes the pod first for a KillSwitch that selects the bot", () => {
    const fleet = readKillSwitch("fleet", { engaged: true, namespaces: ["trading"], reason: "incident" });
    const { writes } = passes(observe({ killSwitches: [fleet] }));
    expect(kinds(writes)).toEqual(["deletePod", "writeStatus"]);
    expect(statusOf(writes)?.halt).toMatchObject({ source: "KillSwitch/fleet", reason: "incident" });
  });

  it("keeps egress open while the pod stops within its grace period, and looks again when it ends", () => {
    const { writes, last } = passes(
      observe({ bot: botObject({ killSwitch: { engaged: true } }), pod: runningPod(20) }),
    );
    expect(kinds(writes)).not.toContain("apply:networkPolicies");
    expect(last).toMatchObject({ requeueAfterMs: 20_050, urgent: true });
  });

  it("denies egress when the grace period has run out, even while the pod still exists, before status", () => {
    const stuck: Pod = {
      ...runningPod(30),
      metadata: { ...runningPod(30).metadata, deletionTimestamp: new Date(NOW - 1000).toISOString() },
    };
    const result = plan(observe({ bot: botObject({ killSwitch: { engaged: true } }), pod: stuck }));
    expect(kinds(result.writes)).toEqual(["apply:networkPolicies", "writeStatus"]);
    const policy = result.writes[0] as Extract<BotWrite, { kind: "apply" }>;
    expect((policy.object as { spec?: { egress?: unknown[] } }).spec?.egress).toEqual([]);
  });

  it("denies egress at once with onEngage Freeze: DELETE, then the deny, then status", () => {
    const { writes } = passes(
      observe({ bot: botObject({ killSwitch: { engaged: true, onEngage: "Freeze" } }) }),
    );
    expect(kinds(writes)).toEqual(["deletePod", "apply:networkPolicies", "writeStatus"]);
  });

  it("denies egress once the pod is gone", () => {
    const result = plan(observe({ bot: botObject({ killSwitch: { engaged: true } }), pod: undefined }));
    expect(kinds(result.writes)).toEqual(["apply:networkPolicies", "writeStatus"]);
    expect(statusOf(result.writes)?.phase).toBe("Halted");
  });

  it("caps the DELETE's grace period at the operator's limit", () => {
    const { writes, last } = passes(
      observe({ bot: botObject({ killSwitch: { engaged: true } }), pod: runningPod(600) }),
    );
    expect(writes[0]).toMatchObject({ kind: "deletePod", gracePeriodSeconds: 60 });
    expect(last.requeueAfterMs).toBe(30_000);
  });
});

describe("the plan of a new risk latch", () => {
  it("records the latch in status before the pod is touched", () => {
    const result = plan(observe({ pod: riskExitedPod() }));
    expect(kinds(result.writes).slice(0, 2)).toEqual(["writeStatus", "deletePod"]);
    expect(statusOf(result.writes)?.halt).toMatchObject({
      engaged: true,
      source: "Risk",
      id: "risk-20260301T115959-0a1b2c3d",
      requiresAck: true,
    });
  });

  it("never deletes the pod of a runtime that exited with a risk message before the latch, whatever else holds the bot", () => {
    const fleet = readKillSwitch("fleet", { engaged: true });
    for (const observation of [
      observe({ pod: riskExitedPod() }),
      observe({ pod: riskExitedPod(), bot: botObject({ killSwitch: { engaged: true } }) }),
      observe({ pod: riskExitedPod(), killSwitches: [fleet] }),
      observe({
        pod: riskExitedPod(),
        bot: botObject({ killSwitch: { engaged: true, onEngage: "Freeze" } }),
      }),
      observe({ pod: riskExitedPod(), bot: botObject({ spec: { killSwitch: { engaged: true } } }) }),
    ]) {
      const writes = plan(observation).writes;
      const firstDelete = writes.findIndex((w) => w.kind === "deletePod");
      const latch = writes.findIndex((w) => w.kind === "writeStatus" && w.status.halt?.source === "Risk");
      expect(latch).toBe(0);
      expect(firstDelete).toBeGreaterThan(latch);
    }
  });

  it("deletes the pod first once the latch is on record", () => {
    const latched = plan(observe({ pod: riskExitedPod() }));
    const status = statusOf(latched.writes) as TradingBotStatus;
    const result = plan(observe({ pod: riskExitedPod(), bot: botObject({ status }) }));
    expect(result.writes[0]).toMatchObject({ kind: "deletePod", urgent: true });
  });
});

describe("a halt needs nothing else before its DELETE", () => {
  it("looks up no Secret, adds the finalizer only after the halt, and builds no desired object", () => {
    const calls: string[] = [];
    const observation = observe(
      { bot: botObject({ killSwitch: { engaged: true }, finalizer: false }), credentials: undefined },
      calls,
    );
    expect("needs" in planBot(observation)).toBe(false);
    const { writes } = passes(observation);
    expect(writes[0]?.kind).toBe("deletePod");
    expect(kinds(writes).indexOf("addFinalizer")).toBeGreaterThan(0);
    expect(calls).toEqual([]);
  });

  it("honours the kill switch of a spec that is otherwise invalid", () => {
    const { writes } = passes(
      observe({ bot: botObject({ spec: { symbol: 42, killSwitch: { engaged: true, reason: "stop" } } }) }),
    );
    expect(writes[0]).toMatchObject({ kind: "deletePod", urgent: true });
    expect(statusOf(writes)?.halt).toMatchObject({ engaged: true, source: "Spec", reason: "stop" });
  });

  it("halts on a kill switch written under a newer schema (an unknown field, an unreadable engaged)", () => {
    for (const killSwitch of [{ engaged: true, approvedBy: "ops" }, { engaged: "yes" }]) {
      const result = plan(observe({ bot: botObject({ spec: { ...sample.spec, killSwitch } }) }));
      expect(result.writes[0]?.kind).toBe("deletePod");
    }
  });

  it("halts on a KillSwitch whose selector it cannot read", () => {
    const unreadable = readKillSwitch("fleet", {
      engaged: true,
      selector: { matchExpressions: [{ key: "desk", operator: "Gt", values: ["1"] }] },
    });
    const result = plan(observe({ killSwitches: [unreadable] }));
    expect(result.writes[0]?.kind).toBe("deletePod");
  });
});

describe("the plan of a bot that may run", () => {
  it("asks for its Secrets before anything else", () => {
    expect(planBot(observe({ pod: undefined }))).toEqual({ needs: "credentials" });
  });

  it("adds the finalizer, then the ServiceAccount, ConfigMap, NetworkPolicy and halt-watch access, then creates the pod", () => {
    const result = plan(observe({ bot: botObject({ finalizer: false }), pod: undefined, credentials }));
    expect(kinds(result.writes)).toEqual([
      "addFinalizer",
      "apply:serviceAccounts",
      "apply:configMaps",
      "apply:networkPolicies",
      "grantHaltWatch",
      "createPod",
    ]);
    expect(result.urgent).toBe(false);
    // The new pod's Pending status waits for the pod to become ready (one status write, not three).
    expect(result.requeueAfterMs).toBe(10_050);
  });

  it("writes nothing when the API already holds the desired state", () => {
    const calls: string[] = [];
    const desired = builders(calls);
    const spec = sample.spec;
    const pod = runningPod();
    const first = plan(observe({ pod, credentials }));
    const status = statusOf(first.writes);
    const result = plan(
      observe({
        pod,
        credentials,
        bot: botObject({ status }),
        owned: {
          serviceAccount: desired.serviceAccount(),
          configMap: desired.configMap(spec),
          networkPolicy: desired.networkPolicy({ allowed: true, spec, databasePort: 5432 }),
        },
      }),
    );
    expect(result.writes).toEqual([]);
  });

  it("stops the pod when the Secrets are missing, without urgency", () => {
    const missing: CredentialsCheck = { ok: false, reason: "SecretNotFound", message: "gone" };
    const result = plan(observe({ credentials: missing }));
    expect(result.writes[0]).toMatchObject({ kind: "deletePod", urgent: false, cause: "stop" });
    expect(statusOf(result.writes)?.phase).toBe("Degraded");
  });
});

describe("the plan of a bot whose runtime reports its audit chain head", () => {
  const reportAt = (now: number, sequence: number) => ({
    podUid: "pod-uid-1",
    reachable: true as const,
    report: {
      heartbeat: new Date(now).toISOString(),
      state: "Trading" as const,
      halted: false,
      openOrders: 2,
      position: "0",
      realizedPnl: "0",
      audit: { sequence, hash: String(sequence % 10).repeat(64) },
    },
  });
  /** The bot as the API holds it after the first plan: only status and Events can differ. */
  const settled = (status: TradingBotStatus | undefined, runtime: BotObservation["runtime"], now: number) => {
    const desired = builders([]);
    return observe({
      bot: botObject({ status }),
      credentials,
      runtime,
      now,
      owned: {
        serviceAccount: desired.serviceAccount(),
        configMap: desired.configMap(sample.spec),
        networkPolicy: desired.networkPolicy({ allowed: true, spec: sample.spec, databasePort: 5432 }),
      },
    });
  };
  const events = (writes: BotWrite[]) =>
    writes.flatMap((w) => (w.kind === "recordEvents" ? w.events.map((e) => e.reason) : []));

  it("records the head in status and then, after that write, in an AuditAnchor Event", () => {
    const result = plan(observe({ credentials, runtime: reportAt(NOW, 40) }));
    expect(statusOf(result.writes)?.audit).toMatchObject({ sequence: 40, lastEvent: { sequence: 40 } });
    const order = result.writes.map((w) => w.kind);
    expect(order.indexOf("writeStatus")).toBeLessThan(order.indexOf("recordEvents"));
    expect(events(result.writes)).toEqual(["AuditAnchor"]);
  });

  it("adds no write for a head that moved between the report's own writes, and no Event before one is due", () => {
    const first = statusOf(plan(observe({ credentials, runtime: reportAt(NOW, 40) })).writes);
    const soon = NOW + 5_000;
    const quiet = plan(settled(first, reportAt(soon, 45), soon));
    expect(quiet.writes).toEqual([]);
    const later = NOW + 61_000;
    const mirrored = plan(settled(first, reportAt(later, 45), later));
    expect(kinds(mirrored.writes)).toEqual(["writeStatus"]);
    expect(events(mirrored.writes)).toEqual([]);
    const rowsLater = plan(settled(first, reportAt(later, 1040), later));
    expect(events(rowsLater.writes)).toEqual(["AuditAnchor"]);
  });
});

describe("the plan of a bot with a key-rotation schedule", () => {
  const DAY = 86_400_000;
  const keys = (resourceVersion: string) => ({
    namespace: "trading",
    name: sample.spec.exchange.credentialsSecretRef.name,
    resourceVersion,
    creationTimestamp: new Date(NOW - 40 * DAY).toISOString(),
  });
  const scheduled = (every: string, status?: TradingBotStatus, killSwitch?: Record<string, unknown>) =>
    botObject({
      status,
      spec: {
        ...sample.spec,
        exchange: { ...sample.spec.exchange, rotateCredentialsEvery: every },
        killSwitch: { ...sample.spec.killSwitch, ...killSwitch },
      },
    });
  const rotationDue = (status: TradingBotStatus | undefined) =>
    status?.conditions?.find((c) => c.type === "CredentialsRotationDue");

  it("says CredentialsRotationDue=True for a Secret older than the schedule, from its creationTimestamp", () => {
    const result = plan(observe({ bot: scheduled("30d"), credentials, exchangeSecret: keys("11") }));
    const status = statusOf(result.writes);
    expect(rotationDue(status)).toMatchObject({ status: "True", reason: "SecretOlderThanSchedule" });
    expect(status?.credentials).toMatchObject({ secretResourceVersion: "11" });
  });

  it("says False within the schedule and looks again when it falls due, with no event to wake it", () => {
    const result = plan(observe({ bot: scheduled("60d"), credentials, exchangeSecret: keys("11") }));
    expect(rotationDue(statusOf(result.writes))).toMatchObject({ status: "False", reason: "WithinSchedule" });
    // Due in 20 days: a timer holds at most a day, and that look asks again.
    expect(result.requeueAfterMs).toBe(DAY);
    // 961h is 40 days and an hour: due in an hour, looked at a second after.
    const soon = plan(observe({ bot: scheduled("961h"), credentials, exchangeSecret: keys("11") }));
    expect(soon.requeueAfterMs).toBe(3_601_000);
  });

  it("flips on time: the look it asked for finds the Secret due, and writes only that", () => {
    const first = plan(observe({ bot: scheduled("961h"), credentials, exchangeSecret: keys("11") }));
    const status = statusOf(first.writes);
    const later = plan(
      observe({
        bot: scheduled("961h", status),
        credentials,
        exchangeSecret: keys("11"),
        now: NOW + (first.requeueAfterMs as number),
      }),
    );
    const writes = later.writes.filter((w) => w.kind === "writeStatus");
    expect(writes).toHaveLength(1);
    expect(rotationDue(statusOf(writes))).toMatchObject({ status: "True" });
  });

  it("restarts the clock when the Secret's data changes (a new version), so the condition goes False", () => {
    const due = statusOf(
      plan(observe({ bot: scheduled("30d"), credentials, exchangeSecret: keys("11") })).writes,
    );
    const rotated = statusOf(
      plan(observe({ bot: scheduled("30d", due), credentials, exchangeSecret: keys("15") })).writes,
    );
    expect(rotated?.credentials).toEqual({
      secretName: sample.spec.exchange.credentialsSecretRef.name,
      secretResourceVersion: "15",
      since: "2026-03-01T12:00:00Z",
    });
    expect(rotationDue(rotated)).toMatchObject({ status: "False", reason: "WithinSchedule" });
  });

  it("keeps the clock of a halted bot without a Secret lookup", () => {
    const calls: string[] = [];
    const observation = observe(
      { bot: scheduled("30d", undefined, { engaged: true }), pod: undefined, exchangeSecret: keys("11") },
      calls,
    );
    const result = planBot(observation);
    expect("needs" in result).toBe(false);
    const status = statusOf((result as BotPlan).writes);
    expect(rotationDue(status)).toMatchObject({ status: "True" });
  });

  it("does not restart a running bot when a schedule is set", () => {
    const result = plan(observe({ bot: scheduled("30d"), credentials, exchangeSecret: keys("11") }));
    expect(kinds(result.writes)).not.toContain("deletePod");
    expect(kinds(result.writes)).not.toContain("createPod");
  });

  it("records the clock but no condition without a schedule", () => {
    const result = plan(observe({ credentials, exchangeSecret: keys("11") }));
    const status = statusOf(result.writes);
    expect(rotationDue(status)).toBeUndefined();
    expect(status?.credentials?.secretResourceVersion).toBe("11");
    expect(result.requeueAfterMs).toBeUndefined();
  });
});

describe("the plan of a bot whose names someone else's objects have", () => {
  const foreign = (kind: "ConfigMap" | "NetworkPolicy" | "Pod", name: string) => ({
    kind,
    namespace: "trading",
    name,
  });

  it("never writes the object another controls, keeps the bot from running and says NameConflict", () => {
    const result = plan(
      observe({ pod: undefined, credentials, conflicts: [foreign("ConfigMap", "grid-config")] }),
    );
    expect(kinds(result.writes)).not.toContain("apply:configMaps");
    expect(kinds(result.writes)).not.toContain("createPod");
    const ready = statusOf(result.writes)?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "NameConflict" });
    expect(ready?.message).toContain("ConfigMap named trading/grid-config exists and is not controlled");
    expect(result.requeueAfterMs).toBeLessThanOrEqual(30_000);
  });

  it("stops the bot's own pod when an object of its names is someone else's", () => {
    const result = plan(observe({ credentials, conflicts: [foreign("NetworkPolicy", "grid-network")] }));
    expect(result.writes[0]).toMatchObject({ kind: "deletePod", cause: "stop" });
    expect(kinds(result.writes)).not.toContain("apply:networkPolicies");
  });

  it("stops and does not start a bot a TradingPolicy refuses, and says PolicyViolation with the rule", () => {
    const refused = {
      field: "spec.pod.image",
      message: "spec.pod.image: x is not allowed (TradingPolicy house)",
    };
    const stopping = plan(observe({ credentials, policyViolations: [refused] }));
    expect(stopping.writes[0]).toMatchObject({ kind: "deletePod", cause: "stop" });
    const stopped = plan(observe({ pod: undefined, credentials, policyViolations: [refused] }));
    expect(kinds(stopped.writes)).not.toContain("createPod");
    const ready = statusOf(stopped.writes)?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "PolicyViolation" });
    expect(ready?.message).toContain("spec.pod.image: x is not allowed (TradingPolicy house)");
  });

  it("halts a bot a TradingPolicy refuses like any other: the pod first", () => {
    const refused = {
      field: "spec.pod.image",
      message: "spec.pod.image: x is not allowed (TradingPolicy house)",
    };
    const { writes } = passes(
      observe({ bot: botObject({ killSwitch: { engaged: true } }), policyViolations: [refused] }),
    );
    expect(writes[0]).toMatchObject({ kind: "deletePod", cause: "halt" });
  });

  it("halts without writing someone else's NetworkPolicy, and still records the halt", () => {
    const { writes } = passes(
      observe({
        bot: botObject({ killSwitch: { engaged: true, onEngage: "Freeze" } }),
        conflicts: [foreign("NetworkPolicy", "grid-network")],
      }),
    );
    expect(kinds(writes)).toEqual(["deletePod", "writeStatus"]);
  });
});

describe("the plan of a deleted bot", () => {
  it("deletes the pod first, then records Terminating, and waits for the grace period and margin", () => {
    const bot = botObject();
    bot.metadata.deletionTimestamp = new Date(NOW).toISOString();
    const result = plan(observe({ bot }));
    expect(kinds(result.writes)).toEqual(["deletePod", "writeStatus"]);
    expect(result.writes[0]).toMatchObject({ urgent: true, cause: "deletion" });
    expect(result.requeueAfterMs).toBe(30_000);
  });

  it("force-deletes a pod that outlived its grace period plus the margin, then lets the bot go", () => {
    const bot = botObject();
    bot.metadata.deletionTimestamp = new Date(NOW - 61_000).toISOString();
    const terminating: Pod = {
      ...runningPod(30),
      metadata: { ...runningPod(30).metadata, deletionTimestamp: new Date(NOW - 31_000).toISOString() },
    };
    const result = plan(observe({ bot, pod: terminating }));
    expect(kinds(result.writes)).toEqual([
      "writeStatus",
      "deletePod",
      "revokeHaltWatch",
      "removeFinalizer",
      "forgetRestarts",
    ]);
    expect(result.writes[1]).toMatchObject({ gracePeriodSeconds: 0, cause: "forcedDeletion" });
  });
});
