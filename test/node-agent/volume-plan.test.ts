import type { V1Pod, V1Volume } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ContainerConfigError, type ReferencedObjects } from "./container-env.ts";
import { planVolumes } from "./volume-plan.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64");

const objects: ReferencedObjects = {
  configMaps: new Map([
    [
      "app",
      { data: { "config.json": '{"a":1}', other: "x" }, binaryData: { "blob.bin": b64("\u0001\u0002") } },
    ],
    ["gone", null],
  ]),
  secrets: new Map([["keys", { data: { apiKey: b64("key-123"), secret: b64("sec-456") } }]]),
};

function plan(volumes: V1Volume[], tokens = new Map<string, string>()) {
  const pod: V1Pod = {
    metadata: {
      name: "p",
      namespace: "ns",
      uid: "u-1",
      labels: { tier: "bots", app: "grid" },
      annotations: { note: 'say "hi"' },
    },
    spec: { containers: [], volumes },
  };
  return planVolumes(pod, objects, { podIP: "127.0.0.3", hostIP: "127.0.0.1" }, tokens);
}

const text = (content: Buffer) => content.toString("utf8");

describe("pod volumes planned as files", () => {
  it("writes a ConfigMap's keys (data and binaryData) with the default mode 0644", () => {
    const [volume] = plan([{ name: "c", configMap: { name: "app" } }]);
    expect(volume?.writable).toBe(false);
    expect(volume?.files.map((f) => [f.path, f.mode])).toEqual([
      ["config.json", 0o644],
      ["other", 0o644],
      ["blob.bin", 0o644],
    ]);
    expect(text(volume?.files[0]?.content ?? Buffer.alloc(0))).toBe('{"a":1}');
  });

  it("honours items: only the listed keys, at their paths, with their modes", () => {
    const [volume] = plan([
      {
        name: "c",
        configMap: {
          name: "app",
          defaultMode: 0o444,
          items: [
            { key: "config.json", path: "conf/app.json" },
            { key: "other", path: "o", mode: 0o600 },
          ],
        },
      },
    ]);
    expect(volume?.files.map((f) => [f.path, f.mode])).toEqual([
      ["conf/app.json", 0o444],
      ["o", 0o600],
    ]);
  });

  it("writes a Secret's decoded values with its defaultMode (0400 when it has none)", () => {
    const [given, none] = plan([
      { name: "s", secret: { secretName: "keys", defaultMode: 0o440 } },
      { name: "t", secret: { secretName: "keys" } },
    ]);
    expect(given?.files.map((f) => [f.path, text(f.content), f.mode])).toEqual([
      ["apiKey", "key-123", 0o440],
      ["secret", "sec-456", 0o440],
    ]);
    expect(none?.files.every((f) => f.mode === 0o400)).toBe(true);
  });

  it("formats downward-API files like the kubelet", () => {
    const [volume] = plan([
      {
        name: "d",
        downwardAPI: {
          items: [
            { path: "name", fieldRef: { fieldPath: "metadata.name" } },
            { path: "uid", fieldRef: { fieldPath: "metadata.uid" } },
            { path: "labels", fieldRef: { fieldPath: "metadata.labels" } },
            { path: "note", fieldRef: { fieldPath: "metadata.annotations['note']" } },
            { path: "annotations", fieldRef: { fieldPath: "metadata.annotations" } },
          ],
        },
      },
    ]);
    expect(Object.fromEntries(volume?.files.map((f) => [f.path, text(f.content)]) ?? [])).toEqual({
      name: "p",
      uid: "u-1",
      labels: 'app="grid"\ntier="bots"',
      note: 'say "hi"',
      annotations: 'note="say \\"hi\\""',
    });
  });

  it("projects ConfigMap, Secret, downward-API and token sources into one folder", () => {
    const [volume] = plan(
      [
        {
          name: "p",
          projected: {
            sources: [
              { configMap: { name: "app", items: [{ key: "other", path: "other" }] } },
              { secret: { name: "keys", items: [{ key: "apiKey", path: "api-key" }] } },
              {
                downwardAPI: {
                  items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
                },
              },
              { serviceAccountToken: { path: "token" } },
            ],
          },
        },
      ],
      new Map([["token", "jwt"]]),
    );
    expect(volume?.files.map((f) => [f.path, text(f.content)])).toEqual([
      ["other", "x"],
      ["api-key", "key-123"],
      ["namespace", "ns"],
      ["token", "jwt"],
    ]);
  });

  it("makes an emptyDir a writable, empty folder", () => {
    expect(plan([{ name: "tmp", emptyDir: { medium: "Memory" } }])).toEqual([
      { name: "tmp", writable: true, files: [] },
    ]);
  });

  it("fails naming the volume when a required source or key is missing, and skips optional ones", () => {
    expect(() => plan([{ name: "c", configMap: { name: "gone" } }])).toThrow(ContainerConfigError);
    expect(() => plan([{ name: "c", configMap: { name: "gone" } }])).toThrow(
      /volume c: configmap "gone" not found/,
    );
    expect(() =>
      plan([{ name: "s", secret: { secretName: "keys", items: [{ key: "nope", path: "n" }] } }]),
    ).toThrow(/volume s: secret "keys" has no key "nope"/);
    expect(plan([{ name: "c", configMap: { name: "gone", optional: true } }])[0]?.files).toEqual([]);
  });

  it("refuses volume types it cannot provide, and paths leaving the volume", () => {
    expect(() => plan([{ name: "h", hostPath: { path: "/etc" } }])).toThrow(
      /hostPath volumes are not supported/,
    );
    expect(() =>
      plan([{ name: "c", configMap: { name: "app", items: [{ key: "other", path: "../escape" }] } }]),
    ).toThrow(/must be relative and stay inside the volume/);
  });
});
