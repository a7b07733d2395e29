import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { TradingBot, type TradingBotSpec } from "../../api/v1alpha1/index.ts";
import { ANNOTATIONS, LABELS } from "../names.ts";
import { BOT_USER_ID, buildBotPod, SECRET_FILE_MODE } from "./bot-pod.ts";

const sample = TradingBot.parse(
  load(readFileSync(new URL("../../config/samples/tradingbot-grid-paper.yaml", import.meta.url), "utf8")),
);
const bot = { name: "grid-btc-paper", namespace: "trading", uid: "5f0c6a51-1111-4e2b-9c1e-000000000001" };

function podFor(
  spec: TradingBotSpec = sample.spec,
  overrides: Partial<Parameters<typeof buildBotPod>[0]> = {},
) {
  return buildBotPod({
    bot,
    spec,
    defaultImage: "registry.example/bot-runtime:1.0.0",
    configHash: "c0ffee",
    secretVersions: { exchange: "101", database: "102" },
    ...overrides,
  });
}

// biome-ignore lint/suspicious/noExplicitAny: the test walks the built pod as plain JSON
type AnyRecord = Record<string, any>;
const podSpec = (pod = podFor()) => pod.spec as AnyRecord;
const botContainer = (pod = podFor()) => podSpec(pod).containers[0] as AnyRecord;

describe("buildBotPod", () => {
  it("names the pod after the bot, deterministically", () => {
    expect(podFor().metadata.name).toBe("grid-btc-paper-runtime");
    expect(podFor().metadata.namespace).toBe("trading");
    expect(podFor()).toEqual(podFor());
  });

  it("runs as a fixed non-root user with the restricted pod security context", () => {
    expect(podSpec().securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: BOT_USER_ID,
      runAsGroup: BOT_USER_ID,
      fsGroup: BOT_USER_ID,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(BOT_USER_ID).toBe(65532);
  });

  it("locks the container down: read-only root, no privilege escalation, no capabilities", () => {
    expect(botContainer().securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: BOT_USER_ID,
      runAsGroup: BOT_USER_ID,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("gives only the bot container the halt watch's token: bound to the pod, an hour at most, its own audience", () => {
    const pod = podFor(sample.spec, { haltWatchAudience: "trading.botops.dev/halt-watch" });
    const volume = (podSpec(pod).volumes as AnyRecord[]).find((v) => v.name === "halt-watch");
    expect(volume?.projected).toEqual({
      defaultMode: SECRET_FILE_MODE,
      sources: [
        {
          serviceAccountToken: {
            audience: "trading.botops.dev/halt-watch",
            expirationSeconds: 3600,
            path: "token",
          },
        },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      ],
    });
    const mounts = (container: AnyRecord) =>
      (container.volumeMounts as AnyRecord[]).filter((mount) => mount.name === "halt-watch");
    expect(mounts(botContainer(pod))).toEqual([
      { name: "halt-watch", mountPath: "/var/run/secrets/tradingbot/halt-watch", readOnly: true },
    ]);
    const withMigration = podFor({
      ...sample.spec,
      database: { ...sample.spec.database, migrationSecretRef: { name: "migration" } },
    });
    expect(mounts(podSpec(withMigration).initContainers[0])).toEqual([]);
    // Without an audience of its own, the API server's (no audience field at all).
    const plain = (podSpec().volumes as AnyRecord[]).find((v) => v.name === "halt-watch");
    expect(plain?.projected.sources[0].serviceAccountToken).not.toHaveProperty("audience");
  });

  it("mounts no API token, injects no service links, and never restarts on its own", () => {
    expect(podSpec().automountServiceAccountToken).toBe(false);
    expect(podSpec().enableServiceLinks).toBe(false);
    expect(podSpec().restartPolicy).toBe("Never");
    expect(podSpec().serviceAccountName).toBe("grid-btc-paper-runtime");
  });

  it("mounts the credentials as read-only files with mode 0400, never as environment variables", () => {
    const volumes = podSpec().volumes as AnyRecord[];
    expect(volumes.find((v) => v.name === "exchange-credentials")?.secret).toEqual({
      secretName: "paper-exchange-credentials",
      defaultMode: SECRET_FILE_MODE,
    });
    expect(volumes.find((v) => v.name === "database-credentials")?.secret).toEqual({
      secretName: "trading-database",
      defaultMode: 0o400,
    });
    const mounts = botContainer().volumeMounts as AnyRecord[];
    for (const name of ["config", "exchange-credentials", "database-credentials"]) {
      expect(mounts.find((m) => m.name === name)?.readOnly).toBe(true);
    }
    expect(JSON.stringify(botContainer().env)).not.toContain("secretKeyRef");
    expect(botContainer().envFrom).toBeUndefined();
  });

  it("gives the runtime a memory-backed /tmp with a size limit", () => {
    const tmp = (podSpec().volumes as AnyRecord[]).find((v) => v.name === "tmp");
    expect(tmp?.emptyDir).toEqual({ medium: "Memory", sizeLimit: "16Mi" });
    expect((botContainer().volumeMounts as AnyRecord[]).find((m) => m.name === "tmp")?.mountPath).toBe(
      "/tmp",
    );
  });

  it("passes every path to the runtime as a flag and listens on the pod IP", () => {
    expect(botContainer().command).toEqual(["bot-runtime"]);
    expect(botContainer().args).toEqual([
      "run",
      "--config=/etc/tradingbot/config.json",
      "--exchange-credentials=/var/run/secrets/tradingbot/exchange",
      "--database-credentials=/var/run/secrets/tradingbot/database",
      "--termination-log=/dev/termination-log",
      "--listen=$(POD_IP):8080",
      "--halt-watch=/var/run/secrets/tradingbot/halt-watch",
    ]);
    expect(botContainer().env).toContainEqual({
      name: "POD_IP",
      valueFrom: { fieldRef: { fieldPath: "status.podIP" } },
    });
    expect(botContainer().terminationMessagePath).toBe("/dev/termination-log");
  });

  it("gives the runtime its memory settings and no secret through the environment", () => {
    const env = botContainer().env as AnyRecord[];
    expect(env).toContainEqual({ name: "NODE_OPTIONS", value: "--max-semi-space-size=1 --v8-pool-size=1" });
    expect(env).toContainEqual({ name: "MALLOC_ARENA_MAX", value: "2" });
    expect(env).toContainEqual({ name: "MALLOC_MMAP_THRESHOLD_", value: "8192" });
    expect(env.filter((variable) => (variable.valueFrom as AnyRecord | undefined)?.secretKeyRef)).toEqual([]);
  });

  it("probes readiness on /readyz and liveness on /healthz at the status port", () => {
    expect(botContainer().readinessProbe.httpGet).toEqual({ path: "/readyz", port: 8080 });
    expect(botContainer().livenessProbe.httpGet).toEqual({ path: "/healthz", port: 8080 });
  });

  it("uses small default resources and lets the spec override each value", () => {
    expect(botContainer().resources).toEqual({
      requests: { cpu: "50m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    });
    const spec = { ...sample.spec, pod: { ...sample.spec.pod, resources: { limits: { memory: "512Mi" } } } };
    expect(botContainer(podFor(spec)).resources.limits).toEqual({ cpu: "500m", memory: "512Mi" });
  });

  it("takes the grace period, image and placement from the spec", () => {
    const spec: TradingBotSpec = {
      ...sample.spec,
      pod: {
        ...sample.spec.pod,
        image: "registry.example/bot-runtime:2.0.0",
        terminationGracePeriodSeconds: 45,
        nodeSelector: { pool: "trading" },
        tolerations: [{ key: "dedicated", operator: "Equal", value: "trading", effect: "NoSchedule" }],
        priorityClassName: "trading-critical",
      },
    };
    const pod = podFor(spec);
    expect(podSpec(pod).terminationGracePeriodSeconds).toBe(45);
    expect(botContainer(pod).image).toBe("registry.example/bot-runtime:2.0.0");
    expect(podSpec(pod).nodeSelector).toEqual({ pool: "trading" });
    expect(podSpec(pod).tolerations).toEqual([
      { key: "dedicated", operator: "Equal", value: "trading", effect: "NoSchedule" },
    ]);
    expect(podSpec(pod).priorityClassName).toBe("trading-critical");
    expect(podSpec().terminationGracePeriodSeconds).toBe(30);
    expect(botContainer().image).toBe("registry.example/bot-runtime:1.0.0");
  });

  it("caps the grace period at the operator's limit, whatever the spec asks for", () => {
    const spec: TradingBotSpec = {
      ...sample.spec,
      pod: { ...sample.spec.pod, terminationGracePeriodSeconds: 600 },
    };
    expect(podSpec(podFor(spec)).terminationGracePeriodSeconds).toBe(60);
    expect(podSpec(podFor(spec, { maxGracePeriodSeconds: 20 })).terminationGracePeriodSeconds).toBe(20);
  });

  it("carries the bot's labels and a controlling owner reference", () => {
    const pod = podFor();
    expect(pod.metadata.labels).toEqual({
      [LABELS.name]: "tradingbot",
      [LABELS.instance]: "grid-btc-paper",
      [LABELS.managedBy]: "tradingbot-operator",
      [LABELS.bot]: "grid-btc-paper",
    });
    expect(pod.metadata.ownerReferences).toEqual([
      {
        apiVersion: "trading.botops.dev/v1alpha1",
        kind: "TradingBot",
        name: "grid-btc-paper",
        uid: bot.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  it("annotates the config hash and each Secret's resourceVersion", () => {
    const annotations = podFor().metadata.annotations ?? {};
    expect(annotations[ANNOTATIONS.configHash]).toBe("c0ffee");
    expect(annotations[ANNOTATIONS.exchangeSecretVersion]).toBe("101");
    expect(annotations[ANNOTATIONS.databaseSecretVersion]).toBe("102");
    expect(annotations[ANNOTATIONS.migrationSecretVersion]).toBeUndefined();
  });

  it("changes its pod-spec hash when the config, a Secret or the image changes, and only then", () => {
    const hashOf = (pod: ReturnType<typeof podFor>) => pod.metadata.annotations?.[ANNOTATIONS.podSpecHash];
    const base = hashOf(podFor());
    expect(base).toMatch(/^[0-9a-f]{16}$/);
    expect(hashOf(podFor())).toBe(base);
    expect(hashOf(podFor(sample.spec, { configHash: "d00d" }))).not.toBe(base);
    expect(hashOf(podFor(sample.spec, { secretVersions: { exchange: "200", database: "102" } }))).not.toBe(
      base,
    );
    expect(hashOf(podFor(sample.spec, { defaultImage: "registry.example/bot-runtime:1.0.1" }))).not.toBe(
      base,
    );
    const halted = { ...sample.spec, killSwitch: { ...sample.spec.killSwitch, engaged: true, reason: "x" } };
    expect(hashOf(podFor(halted))).toBe(base);
  });

  it("runs migrations in an init container that alone sees the migration Secret", () => {
    const spec = {
      ...sample.spec,
      database: { ...sample.spec.database, migrationSecretRef: { name: "db-owner" } },
    };
    const pod = podFor(spec, { secretVersions: { exchange: "101", database: "102", migration: "103" } });
    const [init] = podSpec(pod).initContainers as AnyRecord[];
    expect(init?.args).toEqual([
      "migrate",
      "--database-credentials=/var/run/secrets/tradingbot/migration",
      "--trading-credentials=/var/run/secrets/tradingbot/database",
    ]);
    expect(((init?.volumeMounts ?? []) as AnyRecord[]).map((m) => m.name)).toEqual([
      "migration-credentials",
      "database-credentials",
      "tmp",
    ]);
    expect((botContainer(pod).volumeMounts as AnyRecord[]).map((m) => m.name)).not.toContain(
      "migration-credentials",
    );
    expect(init?.securityContext).toEqual(botContainer(pod).securityContext);
    expect(pod.metadata.annotations?.[ANNOTATIONS.migrationSecretVersion]).toBe("103");
    expect(podSpec().initContainers).toBeUndefined();
  });
});
