import { describe, expect, it } from "vitest";
import { secretTrimmer, trimObject, trimPod } from "./cache-trim.ts";
import type { Pod } from "./types.ts";

describe("secretTrimmer", () => {
  it("keeps only identity, version, creation time and the labels asked for, not even annotations that repeat the data", () => {
    const secret = {
      metadata: {
        name: "keys",
        namespace: "t",
        uid: "u",
        resourceVersion: "7",
        creationTimestamp: "2026-03-01T12:00:00Z",
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"data":{"apiKey":"c2VjcmV0"}}' },
        labels: { a: "b", "trading.botops.dev/credentials": "exchange" },
      },
      data: { apiKey: "c2VjcmV0" },
    };
    expect(secretTrimmer(["trading.botops.dev/credentials", "other"])(secret)).toEqual({
      metadata: {
        name: "keys",
        namespace: "t",
        uid: "u",
        resourceVersion: "7",
        creationTimestamp: "2026-03-01T12:00:00Z",
        labels: { "trading.botops.dev/credentials": "exchange" },
      },
    });
  });
});

describe("trimObject", () => {
  it("drops managedFields and the last-applied annotation, and keeps the rest", () => {
    const object = {
      metadata: {
        name: "c",
        managedFields: [{ manager: "x" }],
        annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", keep: "me" },
      },
      data: { a: "b" },
    };
    expect(trimObject(object)).toEqual({
      metadata: { name: "c", annotations: { keep: "me" } },
      data: { a: "b" },
    });
  });
});

describe("trimPod", () => {
  it("keeps what the operator reads: annotations, owners, image, grace period, phase, readiness and terminations", () => {
    const pod: Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "b-runtime",
        uid: "u",
        annotations: { h: "1" },
        ownerReferences: [{ apiVersion: "v", kind: "TradingBot", name: "b", uid: "o" }],
      },
      spec: {
        containers: [{ name: "bot", image: "img:1", args: ["run"] } as never],
        terminationGracePeriodSeconds: 45,
        volumes: [],
      },
      status: {
        phase: "Failed",
        podIP: "10.0.0.1",
        conditions: [{ type: "Ready", status: "False", lastTransitionTime: "t" } as never],
        containerStatuses: [
          {
            name: "bot",
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 3, message: "m" } },
          },
        ],
      },
    };
    expect(trimPod(pod)).toEqual({
      apiVersion: "v1",
      kind: "Pod",
      metadata: pod.metadata,
      spec: { containers: [{ name: "bot", image: "img:1" }], terminationGracePeriodSeconds: 45 },
      status: {
        phase: "Failed",
        podIP: "10.0.0.1",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [
          { name: "bot", ready: false, state: { terminated: { exitCode: 3, message: "m" } } },
        ],
      },
    });
  });
});
