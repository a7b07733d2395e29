import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  BOT_CONTAINER_PATHS,
  RUNTIME_FLAGS,
  RUNTIME_STATUS_PORT,
} from "../../api/v1alpha1/runtime-config.ts";
import { ContainerConfigError, type ReferencedObjects } from "./container-env.ts";
import { containerLaunch, ImageNotMappedError } from "./container-launch.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64");

/** The shape of the operator's bot pod, built from the runtime contract's paths and flags. */
function botPod(): V1Pod {
  return {
    metadata: { name: "grid-1", namespace: "traders", uid: "uid-1", labels: { app: "bot" } },
    spec: {
      nodeName: "agent-node",
      serviceAccountName: "grid-1",
      restartPolicy: "Never",
      containers: [
        {
          name: "bot",
          image: "ghcr.io/botops/bot-runtime:0.1.0",
          command: ["bot-runtime"],
          args: [
            "run",
            `${RUNTIME_FLAGS.config}=${BOT_CONTAINER_PATHS.configDir}/config.json`,
            `${RUNTIME_FLAGS.exchangeCredentials}=${BOT_CONTAINER_PATHS.exchangeCredentialsDir}`,
            `${RUNTIME_FLAGS.databaseCredentials}=${BOT_CONTAINER_PATHS.databaseCredentialsDir}`,
            `${RUNTIME_FLAGS.terminationLog}=${BOT_CONTAINER_PATHS.terminationLog}`,
            `${RUNTIME_FLAGS.listen}=$(POD_IP):${RUNTIME_STATUS_PORT}`,
          ],
          env: [
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "GREETING", value: "hello $(POD_NAME) on $(NODE), not $(LATER)" },
            { name: "LATER", value: "later" },
            { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "settings", key: "level" } } },
            { name: "TOKEN", valueFrom: { secretKeyRef: { name: "extra", key: "token" } } },
            { name: "CONFIG_FILE", value: `${BOT_CONTAINER_PATHS.configDir}/config.json` },
          ],
          terminationMessagePath: BOT_CONTAINER_PATHS.terminationLog,
          volumeMounts: [
            { name: "config", mountPath: BOT_CONTAINER_PATHS.configDir, readOnly: true },
            {
              name: "exchange-credentials",
              mountPath: BOT_CONTAINER_PATHS.exchangeCredentialsDir,
              readOnly: true,
            },
            {
              name: "database-credentials",
              mountPath: BOT_CONTAINER_PATHS.databaseCredentialsDir,
              readOnly: true,
            },
            { name: "tmp", mountPath: BOT_CONTAINER_PATHS.tmp },
          ],
        },
      ],
      volumes: [
        { name: "config", configMap: { name: "grid-1-config" } },
        { name: "exchange-credentials", secret: { secretName: "exchange", defaultMode: 0o400 } },
        { name: "database-credentials", secret: { secretName: "database", defaultMode: 0o400 } },
        { name: "tmp", emptyDir: { medium: "Memory" } },
      ],
    },
  };
}

const objects: ReferencedObjects = {
  configMaps: new Map([["settings", { data: { level: "debug" } }]]),
  secrets: new Map([["extra", { data: { token: b64("s3cret") } }]]),
};

const volumeDirs = new Map([
  ["config", "/s/pods/uid-1/volumes/config"],
  ["exchange-credentials", "/s/pods/uid-1/volumes/exchange-credentials"],
  ["database-credentials", "/s/pods/uid-1/volumes/database-credentials"],
  ["tmp", "/s/pods/uid-1/volumes/tmp"],
]);

function launch(pod: V1Pod, overrides: Partial<Parameters<typeof containerLaunch>[0]> = {}) {
  const container = pod.spec?.containers[0];
  if (!container) throw new Error("pod without container");
  return containerLaunch({
    pod,
    container,
    addresses: { podIP: "127.0.0.9", hostIP: "127.0.0.1" },
    objects,
    volumeDirs,
    terminationMessageFile: "/s/pods/uid-1/containers/bot/termination-log",
    imageCommands: { "bot-runtime": ["/usr/bin/node", "/repo/dist/bot-runtime/main.js"] },
    baseEnv: { PATH: "/usr/bin:/bin" },
    defaultCwd: "/s/pods/uid-1",
    ...overrides,
  });
}

describe("a bot pod launched as a local process", () => {
  it("runs the mapped program with the runtime's flags pointing into the pod's folder", () => {
    expect(launch(botPod()).argv).toEqual([
      "/usr/bin/node",
      "/repo/dist/bot-runtime/main.js",
      "run",
      "--config=/s/pods/uid-1/volumes/config/config.json",
      "--exchange-credentials=/s/pods/uid-1/volumes/exchange-credentials",
      "--database-credentials=/s/pods/uid-1/volumes/database-credentials",
      "--termination-log=/s/pods/uid-1/containers/bot/termination-log",
      "--listen=127.0.0.9:8080",
    ]);
  });

  it("builds the env from the downward API, ConfigMap and Secret keys, expanding earlier variables only", () => {
    const { env } = launch(botPod());
    expect(env).toMatchObject({
      PATH: "/usr/bin:/bin",
      HOSTNAME: "grid-1",
      POD_IP: "127.0.0.9",
      POD_NAME: "grid-1",
      NODE: "agent-node",
      GREETING: "hello grid-1 on agent-node, not $(LATER)",
      LEVEL: "debug",
      TOKEN: "s3cret",
      CONFIG_FILE: "/s/pods/uid-1/volumes/config/config.json",
      TMPDIR: "/s/pods/uid-1/volumes/tmp",
    });
  });

  it("runs in the pod folder", () => {
    expect(launch(botPod()).cwd).toBe("/s/pods/uid-1");
  });

  it("routes by image before command, and says what is missing when neither is mapped", () => {
    const byImage = launch(botPod(), {
      imageCommands: { "ghcr.io/botops/bot-runtime": ["/bin/stand-in"], "bot-runtime": ["/bin/never"] },
    });
    expect(byImage.argv.slice(0, 2)).toEqual(["/bin/stand-in", "run"]);
    expect(() => launch(botPod(), { imageCommands: {} })).toThrow(ImageNotMappedError);
    expect(() => launch(botPod(), { imageCommands: {} })).toThrow(
      /image "ghcr.io\/botops\/bot-runtime:0.1.0"/,
    );
  });

  it("refuses to start while a referenced ConfigMap or key is missing", () => {
    const noConfigMap = { ...objects, configMaps: new Map([["settings", null]]) };
    expect(() => launch(botPod(), { objects: noConfigMap })).toThrow(ContainerConfigError);
    expect(() => launch(botPod(), { objects: noConfigMap })).toThrow(
      /env LEVEL: configmap "settings" not found/,
    );
    const noKey = { ...objects, secrets: new Map([["extra", { data: {} }]]) };
    expect(() => launch(botPod(), { objects: noKey })).toThrow(
      /env TOKEN: secret "extra" has no key "token"/,
    );
  });

  it("takes envFrom first, with prefixes, and lets env override it", () => {
    const pod = botPod();
    const container = pod.spec?.containers[0];
    if (!container) throw new Error("pod without container");
    container.envFrom = [
      { configMapRef: { name: "settings" }, prefix: "APP_" },
      { secretRef: { name: "extra" } },
    ];
    container.env = [{ name: "token", value: "from env" }];
    const { env } = launch(pod);
    expect(env.APP_level).toBe("debug");
    expect(env.token).toBe("from env");
  });
});
