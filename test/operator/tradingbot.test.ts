import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterContext } from "../support/context.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { type BotObject, ClusterView, condition } from "./cluster-view.ts";
import {
  botManifest,
  DATABASE_SECRET,
  databaseSecret,
  EXCHANGE_SECRET,
  exchangeSecret,
  plantedValues,
  RESTRICTED_NAMESPACE_LABELS,
} from "./fixtures.ts";
import {
  applyObjects,
  deleteBotNamespaces,
  installCrds,
  installOperatorIdentity,
  type OperatorProcess,
  startOperator,
} from "./harness.ts";
import { PodRecorder } from "./pod-watch.ts";

// One operator process (as its own ServiceAccount, with config/rbac/) reconciling the bots of one
// namespace that enforces the `restricted` Pod Security Standard.

const cluster = clusterContext();
const access = { kubectlPath: cluster.kubectlPath, kubeconfigPath: cluster.kubeconfigPath };
const adminKc = adminKubeConfig();
const view = new ClusterView(adminKc);
const planted = plantedValues(randomBytes(3).toString("hex"));
const rotatedKey = `${planted.apiKey}-ROTATED`;

let operatorNamespace: TestNamespace;
let botNamespace: TestNamespace;
let ns: string;
let operator: OperatorProcess;

const podOf = (bot: string) => `${bot}-runtime`;

async function applyBot(name: string, options: Parameters<typeof botManifest>[2] = {}) {
  await applyObjects(access, [botManifest(ns, name, options)]);
}

async function waitReady(name: string, timeoutMs = 60_000) {
  await kubectl([
    "wait",
    "-n",
    ns,
    "--for=condition=Ready",
    `tb/${name}`,
    `--timeout=${Math.round(timeoutMs / 1000)}s`,
  ]);
  return (await view.bot(ns, name)) as BotObject;
}

async function events(reason?: string) {
  const list = await view.core.listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => reason === undefined || e.reason === reason);
}

/** Every audit-visible text the operator produced about the bots: status, ConfigMaps, Events. */
async function everythingWritten(): Promise<string> {
  const [bots, configMaps, coreEvents] = await Promise.all([
    kubectl(["get", "tradingbots", "-n", ns, "-o", "json"]),
    kubectl(["get", "configmaps", "-n", ns, "-o", "json"]),
    kubectl(["get", "events.events.k8s.io", "-n", ns, "-o", "json"]),
  ]);
  return [bots.stdout, configMaps.stdout, coreEvents.stdout].join("\n");
}

beforeAll(async () => {
  await installCrds(access);
  operatorNamespace = await createTestNamespace(adminKc, "tbop");
  botNamespace = await createTestNamespace(adminKc, "tb", RESTRICTED_NAMESPACE_LABELS);
  ns = botNamespace.name;
  const kubeconfigPath = await installOperatorIdentity(access, operatorNamespace.name);
  await applyObjects(access, [exchangeSecret(ns, planted), databaseSecret(ns, planted)]);
  operator = await startOperator({
    kubeconfigPath,
    operatorNamespace: operatorNamespace.name,
    namespaces: [ns],
    identity: `tb-${ns}`,
    extraArgs: ["--deletion-margin=2s", "--runtime-poll-interval=2s"],
  });
});

afterAll(async () => {
  if (botNamespace) await deleteBotNamespaces(access, [botNamespace.name]);
  await operator?.stop();
  await operatorNamespace?.cleanup();
});

describe("a TradingBot", () => {
  it("becomes a pod admitted under the restricted policy with every hardening field, plus its ConfigMap, NetworkPolicy and ServiceAccount, and reports Ready", async () => {
    await applyBot("grid");
    const bot = await waitReady("grid");
    expect(bot.status?.phase).toBe("Running");
    expect(bot.status?.podName).toBe(podOf("grid"));
    expect(bot.metadata.finalizers).toContain("trading.botops.dev/stop-bot");
    for (const type of ["Ready", "Halted", "CredentialsAvailable", "RuntimeReachable"]) {
      expect(condition(bot, type)?.observedGeneration).toBe(bot.metadata.generation);
    }
    expect(condition(bot, "CredentialsAvailable")?.status).toBe("True");

    const pod = await view.pod(ns, podOf("grid"));
    expect(pod?.status?.phase).toBe("Running");
    const spec = pod?.spec;
    const container = spec?.containers[0];
    expect(spec?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container?.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(spec?.automountServiceAccountToken).toBe(false);
    expect(spec?.enableServiceLinks).toBe(false);
    expect(spec?.restartPolicy).toBe("Never");
    expect(spec?.serviceAccountName).toBe("grid-runtime");
    expect(spec?.terminationGracePeriodSeconds).toBe(30);
    expect(spec?.volumes?.find((v) => v.name === "tmp")?.emptyDir).toMatchObject({
      medium: "Memory",
      sizeLimit: "16Mi",
    });
    const exchangeVolume = spec?.volumes?.find((v) => v.name === "exchange-credentials");
    expect(exchangeVolume?.secret).toMatchObject({ secretName: EXCHANGE_SECRET, defaultMode: 0o400 });
    expect(spec?.volumes?.find((v) => v.name === "database-credentials")?.secret).toMatchObject({
      secretName: DATABASE_SECRET,
      defaultMode: 0o400,
    });
    expect(
      container?.volumeMounts?.filter((m) => m.name.endsWith("credentials")).every((m) => m.readOnly),
    ).toBe(true);
    // The pod IP from the downward API and the runtime's memory settings: never a secret.
    expect(container?.env?.map((e) => e.name)).toEqual([
      "POD_IP",
      "NODE_OPTIONS",
      "MALLOC_ARENA_MAX",
      "MALLOC_MMAP_THRESHOLD_",
    ]);
    expect(container?.env?.some((e) => e.valueFrom?.secretKeyRef)).toBe(false);
    expect(container?.envFrom).toBeUndefined();
    expect(container?.resources?.limits).toMatchObject({ memory: "256Mi" });
    expect(container?.readinessProbe?.httpGet?.path).toBe("/readyz");
    expect(container?.livenessProbe?.httpGet?.path).toBe("/healthz");
    const annotations = pod?.metadata?.annotations ?? {};
    expect(annotations["trading.botops.dev/config-hash"]).toMatch(/^[0-9a-f]{16}$/);
    const exchange = await view.core.readNamespacedSecret({ namespace: ns, name: EXCHANGE_SECRET });
    expect(annotations["trading.botops.dev/exchange-secret-version"]).toBe(
      exchange.metadata?.resourceVersion,
    );
    expect(annotations["trading.botops.dev/database-secret-version"]).toMatch(/^[0-9]+$/);

    const owned = [
      pod?.metadata,
      (await view.core.readNamespacedConfigMap({ namespace: ns, name: "grid-config" })).metadata,
      (await view.networkPolicy(ns, "grid-network")).metadata,
      (await view.core.readNamespacedServiceAccount({ namespace: ns, name: "grid-runtime" })).metadata,
    ];
    for (const metadata of owned) {
      expect(metadata?.ownerReferences).toEqual([
        expect.objectContaining({
          kind: "TradingBot",
          name: "grid",
          uid: bot.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        }),
      ]);
      expect(metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("tradingbot-operator");
    }
    const account = await view.core.readNamespacedServiceAccount({ namespace: ns, name: "grid-runtime" });
    expect(account.automountServiceAccountToken).toBe(false);
  });

  it("halts on its own kill switch (the pod first, then status, then egress) and resumes when released", async () => {
    const before = await waitReady("grid");
    await kubectl([
      "patch",
      "tb",
      "grid",
      "-n",
      ns,
      "--type",
      "merge",
      "-p",
      '{"spec":{"killSwitch":{"engaged":true,"reason":"test"}}}',
    ]);
    const halted = await view.waitForBot(ns, "grid", (b) => b.status?.phase === "Halted", "phase Halted");
    expect(halted.status?.halt).toMatchObject({ engaged: true, source: "Spec", reason: "test" });
    expect(condition(halted, "Halted")).toMatchObject({ status: "True", reason: "Spec" });
    expect(condition(halted, "Ready")).toMatchObject({ status: "False", reason: "Halted" });
    await view.waitForPodGone(ns, podOf("grid"));
    const policy = await waitFor(
      async () => {
        const p = await view.networkPolicy(ns, "grid-network");
        return (p.spec?.egress ?? []).length === 0 ? p : undefined;
      },
      { what: "egress to be denied" },
    );
    expect(policy.spec?.policyTypes).toContain("Egress");
    expect(policy.spec?.ingress).toHaveLength(1);
    const haltEvents = await events("Halted");
    expect(haltEvents.some((e) => e.message?.includes("Halted by Spec: test"))).toBe(true);

    await kubectl([
      "patch",
      "tb",
      "grid",
      "-n",
      ns,
      "--type",
      "merge",
      "-p",
      '{"spec":{"killSwitch":{"engaged":false}}}',
    ]);
    const resumed = await waitReady("grid");
    expect(resumed.status?.halt).toEqual({ engaged: false });
    const reopened = await view.networkPolicy(ns, "grid-network");
    expect(reopened.spec?.egress?.length).toBe(4);
    expect((await events("Resumed")).length).toBeGreaterThan(0);
    expect(before.metadata.uid).toBe(resumed.metadata.uid);
  });

  // Resource versions are revisions of one store, comparable across kinds: the order of two writes. The
  // halt's cause (spec.killSwitch) is on record before either, so the DELETE goes first.
  it("starts deleting the pod before it records the halt in status", async () => {
    await waitReady("grid");
    const seen: { kind: string; resourceVersion: number }[] = [];
    const { Watch } = await import("@kubernetes/client-node");
    const watch = new Watch(adminKc);
    const stopBots = await watch.watch(
      `/apis/trading.botops.dev/v1alpha1/namespaces/${ns}/tradingbots`,
      { fieldSelector: "metadata.name=grid" },
      (_type, object: BotObject) => {
        if (object.status?.halt?.engaged)
          seen.push({ kind: "halted-status", resourceVersion: Number(object.metadata.resourceVersion) });
      },
      () => {},
    );
    const stopPods = await watch.watch(
      `/api/v1/namespaces/${ns}/pods`,
      { fieldSelector: `metadata.name=${podOf("grid")}` },
      (type, object: { metadata: { deletionTimestamp?: string; resourceVersion: string } }) => {
        if (object.metadata.deletionTimestamp || type === "DELETED") {
          seen.push({ kind: "pod-deleting", resourceVersion: Number(object.metadata.resourceVersion) });
        }
      },
      () => {},
    );
    try {
      await kubectl([
        "patch",
        "tb",
        "grid",
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"spec":{"killSwitch":{"engaged":true,"reason":"order"}}}',
      ]);
      await view.waitForPodGone(ns, podOf("grid"));
      await waitFor(
        () => seen.some((s) => s.kind === "halted-status") && seen.some((s) => s.kind === "pod-deleting"),
        {
          what: "both watches to report",
        },
      );
      const firstStatus = Math.min(
        ...seen.filter((s) => s.kind === "halted-status").map((s) => s.resourceVersion),
      );
      const firstDeletion = Math.min(
        ...seen.filter((s) => s.kind === "pod-deleting").map((s) => s.resourceVersion),
      );
      expect(firstDeletion).toBeLessThan(firstStatus);
    } finally {
      stopBots.abort();
      stopPods.abort();
    }
    await kubectl([
      "patch",
      "tb",
      "grid",
      "-n",
      ns,
      "--type",
      "merge",
      "-p",
      '{"spec":{"killSwitch":{"engaged":false}}}',
    ]);
    await waitReady("grid");
  });

  it("latches a risk halt from the pod's termination message until acknowledged with the right id", async () => {
    await waitReady("grid");
    const haltId = `risk-${randomBytes(4).toString("hex")}`;
    const message = JSON.stringify({
      reason: "RiskLimitBreached",
      haltId,
      limit: "maxDailyLossQuote",
      value: "-55.20",
      threshold: "50",
      at: new Date().toISOString(),
    });
    const now = new Date().toISOString();
    const status = {
      status: {
        phase: "Failed",
        containerStatuses: [
          {
            name: "bot",
            image: "registry.local/tradingbot/bot-runtime:test",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 3, reason: "Error", message, startedAt: now, finishedAt: now } },
          },
        ],
      },
    };
    await kubectl([
      "patch",
      "pod",
      podOf("grid"),
      "-n",
      ns,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(status),
    ]);
    const latched = await view.waitForBot(
      ns,
      "grid",
      (b) => b.status?.halt?.source === "Risk",
      "a latched risk halt",
    );
    expect(latched.status?.halt).toMatchObject({
      engaged: true,
      source: "Risk",
      id: haltId,
      requiresAck: true,
    });
    expect(latched.status?.halt?.reason).toContain("maxDailyLossQuote");
    await view.waitForPodGone(ns, podOf("grid"));
    await view.waitForBot(ns, "grid", (b) => b.status?.phase === "Halted", "phase Halted");
    expect((await events("RiskHaltLatched")).length).toBeGreaterThan(0);

    await kubectl([
      "patch",
      "tb",
      "grid",
      "-n",
      ns,
      "--type",
      "merge",
      "-p",
      '{"spec":{"killSwitch":{"acknowledgeHalt":"not-the-id"}}}',
    ]);
    const refused = await view.waitForBot(
      ns,
      "grid",
      (b) => b.status?.halt?.message?.startsWith("Acknowledgement refused") ?? false,
      "a refused acknowledgement",
    );
    expect(refused.status?.halt?.message).toBe(
      `Acknowledgement refused: spec.killSwitch.acknowledgeHalt is "not-the-id" but the latched halt's id is "${haltId}"; set it to "${haltId}" to release the halt.`,
    );
    expect(refused.status?.halt).toMatchObject({ engaged: true, source: "Risk", id: haltId });
    await waitFor(async () => (await events("AcknowledgementRefused")).length > 0, {
      what: "an AcknowledgementRefused Event",
    });
    expect(await view.pod(ns, podOf("grid"))).toBeUndefined();

    await kubectl([
      "patch",
      "tb",
      "grid",
      "-n",
      ns,
      "--type",
      "merge",
      "-p",
      JSON.stringify({ spec: { killSwitch: { acknowledgeHalt: haltId } } }),
    ]);
    const released = await waitReady("grid");
    expect(released.status?.halt).toEqual({ engaged: false });
    expect((await events("HaltAcknowledged")).length).toBeGreaterThan(0);
  });

  it("never runs two pods at once while its spec changes, its Secret rotates and its image changes", async () => {
    await waitReady("grid");
    const recorder = await PodRecorder.start(adminKc, ns);
    try {
      const firstUid = (await view.pod(ns, podOf("grid")))?.metadata?.uid;
      await kubectl([
        "patch",
        "tb",
        "grid",
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"spec":{"strategy":{"grid":{"levels":21}}}}',
      ]);
      const second = await waitFor(
        async () => {
          const pod = await view.pod(ns, podOf("grid"));
          return pod?.metadata?.uid !== firstUid && pod?.status?.phase === "Running" ? pod : undefined;
        },
        { what: "a new pod for the new config" },
      );
      await applyObjects(access, [exchangeSecret(ns, { ...planted, apiKey: rotatedKey })]);
      const third = await waitFor(
        async () => {
          const pod = await view.pod(ns, podOf("grid"));
          return pod?.metadata?.uid !== second.metadata?.uid && pod?.status?.phase === "Running"
            ? pod
            : undefined;
        },
        { what: "a new pod after the Secret rotation" },
      );
      const rotated = await view.core.readNamespacedSecret({ namespace: ns, name: EXCHANGE_SECRET });
      expect(third.metadata?.annotations?.["trading.botops.dev/exchange-secret-version"]).toBe(
        rotated.metadata?.resourceVersion,
      );
      await kubectl([
        "patch",
        "tb",
        "grid",
        "-n",
        ns,
        "--type",
        "merge",
        "-p",
        '{"spec":{"pod":{"image":"registry.local/tradingbot/bot-runtime:next"}}}',
      ]);
      await waitFor(
        async () =>
          (await view.pod(ns, podOf("grid")))?.spec?.containers[0]?.image ===
          "registry.local/tradingbot/bot-runtime:next",
        { what: "a pod with the new image" },
      );
      await waitReady("grid");
      expect(recorder.podsSeen("grid")).toBeGreaterThanOrEqual(4);
      expect(recorder.maxPodsPerBot("grid")).toBe(1);
      expect((await events("Restarting")).map((e) => e.message)).toEqual(
        expect.arrayContaining([
          "Replacing the bot pod: the runtime configuration changed.",
          "Replacing the bot pod: the exchange credentials Secret changed.",
        ]),
      );
    } finally {
      recorder.stop();
    }
  });

  it("restores a deleted ConfigMap, an edited NetworkPolicy and a deleted pod", async () => {
    await waitReady("grid");
    const configMap = await view.core.readNamespacedConfigMap({ namespace: ns, name: "grid-config" });
    await view.core.deleteNamespacedConfigMap({ namespace: ns, name: "grid-config" });
    const restored = await waitFor(
      () => view.core.readNamespacedConfigMap({ namespace: ns, name: "grid-config" }).catch(() => undefined),
      { what: "the ConfigMap to be restored" },
    );
    expect(restored.metadata?.uid).not.toBe(configMap.metadata?.uid);
    expect(restored.data).toEqual(configMap.data);

    await kubectl([
      "patch",
      "networkpolicy",
      "grid-network",
      "-n",
      ns,
      "--type",
      "merge",
      "-p",
      '{"spec":{"egress":[{"to":[{"ipBlock":{"cidr":"0.0.0.0/0"}}]}]}}',
    ]);
    await waitFor(
      async () => {
        const policy = await view.networkPolicy(ns, "grid-network");
        const egress = policy.spec?.egress ?? [];
        return egress.length === 4 && !JSON.stringify(egress).includes("0.0.0.0/0");
      },
      { what: "the NetworkPolicy's egress to be restored" },
    );

    const pod = await view.pod(ns, podOf("grid"));
    await view.core.deleteNamespacedPod({ namespace: ns, name: podOf("grid"), gracePeriodSeconds: 0 });
    await waitFor(
      async () => {
        const next = await view.pod(ns, podOf("grid"));
        return next !== undefined && next.metadata?.uid !== pod?.metadata?.uid;
      },
      { what: "the pod to be recreated" },
    );
    await waitReady("grid");
  });

  it("waits for a missing Secret or key without a pod, says which, and starts once it is fixed", async () => {
    await applyBot("late", {
      spec: (spec) => {
        (spec.exchange as Record<string, unknown>).credentialsSecretRef = { name: "late-credentials" };
      },
    });
    const missing = await view.waitForBot(
      ns,
      "late",
      (b) => condition(b, "CredentialsAvailable")?.status === "False",
      "CredentialsAvailable=False",
    );
    expect(condition(missing, "CredentialsAvailable")).toMatchObject({
      reason: "SecretNotFound",
      message:
        `Secret ${ns}/late-credentials (spec.exchange.credentialsSecretRef) does not exist or is not labelled for ` +
        "this use: the operator only uses Secrets labelled trading.botops.dev/credentials=exchange and " +
        "trading.botops.dev/exchange-modes=paper",
    });
    expect(missing.status?.phase).toBe("Degraded");
    expect(await view.pod(ns, podOf("late"))).toBeUndefined();
    await waitFor(async () => (await events("SecretNotFound")).length > 0, {
      what: "a SecretNotFound Event",
    });

    await applyObjects(access, [exchangeSecret(ns, planted, "late-credentials", { apiKey: planted.apiKey })]);
    const noKey = await view.waitForBot(
      ns,
      "late",
      (b) => condition(b, "CredentialsAvailable")?.reason === "SecretKeyMissing",
      "a missing key",
    );
    expect(condition(noKey, "CredentialsAvailable")?.message).toBe(
      `Secret ${ns}/late-credentials (spec.exchange.credentialsSecretRef) has no value for key "secret"; it needs apiKey, secret`,
    );
    expect(await view.pod(ns, podOf("late"))).toBeUndefined();

    await applyObjects(access, [exchangeSecret(ns, planted, "late-credentials")]);
    const ready = await waitReady("late");
    expect(condition(ready, "CredentialsAvailable")?.status).toBe("True");
  });

  it("stops the pod before a deleted bot goes", async () => {
    await applyBot("short-lived");
    await waitReady("short-lived");
    const order: { what: string; resourceVersion: number }[] = [];
    const { Watch } = await import("@kubernetes/client-node");
    const watch = new Watch(adminKc);
    const stopBots = await watch.watch(
      `/apis/trading.botops.dev/v1alpha1/namespaces/${ns}/tradingbots`,
      { fieldSelector: "metadata.name=short-lived" },
      (type, object: BotObject) => {
        if (type === "DELETED")
          order.push({ what: "bot", resourceVersion: Number(object.metadata.resourceVersion) });
      },
      () => {},
    );
    const stopPods = await watch.watch(
      `/api/v1/namespaces/${ns}/pods`,
      { fieldSelector: `metadata.name=${podOf("short-lived")}` },
      (type, object: { metadata: { resourceVersion: string } }) => {
        if (type === "DELETED")
          order.push({ what: "pod", resourceVersion: Number(object.metadata.resourceVersion) });
      },
      () => {},
    );
    try {
      await kubectl(["delete", "tb", "short-lived", "-n", ns, "--timeout=60s"]);
      await waitFor(() => order.length === 2, { what: "the pod and the bot to be deleted" });
      expect(order.map((o) => o.what)).toEqual(["pod", "bot"]);
    } finally {
      stopBots.abort();
      stopPods.abort();
    }
  });

  it("force-deletes a pod that outlives its grace period, records it, and lets the bot go", async () => {
    await applyBot("stuck", {
      spec: (spec) => {
        (spec.pod as Record<string, unknown>) = { terminationGracePeriodSeconds: 10 };
      },
    });
    await waitReady("stuck");
    await kubectl([
      "patch",
      "pod",
      podOf("stuck"),
      "-n",
      ns,
      "--type=merge",
      "-p",
      '{"metadata":{"finalizers":["test.botops.dev/hold"]}}',
    ]);
    await kubectl(["delete", "tb", "stuck", "-n", ns, "--wait=false"]);
    const terminating = await view.waitForBot(
      ns,
      "stuck",
      (b) => b.status?.phase === "Terminating",
      "phase Terminating",
    );
    expect(terminating.status?.podName).toBe(podOf("stuck"));
    await waitFor(async () => (await view.bot(ns, "stuck")) === undefined, {
      what: "the bot to go after grace period + margin",
      timeoutMs: 40_000,
    });
    const forced = await events("ForcedDeletion");
    expect(forced.some((e) => e.message?.includes(podOf("stuck")))).toBe(true);
    await kubectl(
      ["patch", "pod", podOf("stuck"), "-n", ns, "--type=merge", "-p", '{"metadata":{"finalizers":null}}'],
      { allowFailure: true },
    );
  });

  it("uses only Secrets labelled for the use, and never a key allowed for live in a paper bot", async () => {
    await applyBot("unlabelled", {
      spec: (spec) => {
        (spec.exchange as Record<string, unknown>).credentialsSecretRef = { name: "unlabelled-credentials" };
      },
    });
    await applyObjects(access, [exchangeSecret(ns, planted, "unlabelled-credentials", undefined, {})]);
    const unlabelled = await view.waitForBot(
      ns,
      "unlabelled",
      (b) => condition(b, "CredentialsAvailable")?.reason === "SecretNotFound",
      "the unlabelled Secret unseen",
    );
    expect(condition(unlabelled, "CredentialsAvailable")?.message).toContain(
      "labelled trading.botops.dev/credentials=exchange and trading.botops.dev/exchange-modes=paper",
    );
    expect(await view.pod(ns, podOf("unlabelled"))).toBeUndefined();

    const live = {
      "trading.botops.dev/credentials": "exchange",
      "trading.botops.dev/exchange-modes": "live",
    };
    await applyObjects(access, [exchangeSecret(ns, planted, "unlabelled-credentials", undefined, live)]);
    const refused = await view.waitForBot(
      ns,
      "unlabelled",
      (b) => condition(b, "CredentialsAvailable")?.reason === "SecretNotAllowed",
      "a live key refused to a paper bot",
    );
    expect(condition(refused, "CredentialsAvailable")?.message).toContain(
      "a key allowed for live never serves",
    );
    expect(await view.pod(ns, podOf("unlabelled"))).toBeUndefined();

    await applyObjects(access, [exchangeSecret(ns, planted, "unlabelled-credentials")]);
    await waitReady("unlabelled");
    await kubectl(["delete", "tb", "unlabelled", "-n", ns, "--timeout=60s"]);
  });

  it("never lets a Secret value reach its logs, Events, status or ConfigMaps", async () => {
    const written = await everythingWritten();
    const logs = operator.logs();
    expect(written).toContain("grid");
    expect(logs).toContain("reconciling");
    for (const value of [planted.apiKey, planted.secret, planted.password, rotatedKey]) {
      expect(logs.includes(value), "a Secret value in the operator's logs").toBe(false);
      expect(written.includes(value), "a Secret value in status, Events or ConfigMaps").toBe(false);
      expect(logs.includes(Buffer.from(value).toString("base64")), "a base64 Secret value in the logs").toBe(
        false,
      );
    }
  });

  it("did all of it with the RBAC of config/rbac/ and never got a 403", async () => {
    const metrics = await operator.metrics();
    expect(metrics).toMatch(/tradingbot_operator_api_requests_total\{[^}]*code="20[01]"/);
    expect(metrics).not.toMatch(/tradingbot_operator_api_requests_total\{[^}]*code="403"/);
  });
});
