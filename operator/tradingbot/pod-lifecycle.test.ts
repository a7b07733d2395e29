import { describe, expect, it } from "vitest";
import type { Pod } from "../kube/types.ts";
import { ANNOTATIONS } from "../names.ts";
import { decidePodPlan, isPodReady, podFailure, restartBackoffMs } from "./pod-lifecycle.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");

function pod(annotations: Record<string, string> = {}, extra: Partial<Pod> = {}, image = "bot:1"): Pod {
  return {
    metadata: {
      name: "b-runtime",
      namespace: "t",
      uid: "pod-uid-1",
      annotations: {
        [ANNOTATIONS.podSpecHash]: "h1",
        [ANNOTATIONS.configHash]: "c1",
        [ANNOTATIONS.exchangeSecretVersion]: "11",
        [ANNOTATIONS.databaseSecretVersion]: "12",
        ...annotations,
      },
    },
    spec: { containers: [{ name: "bot", image }] },
    ...extra,
  };
}

function terminated(exitCode: number, finishedAt = "2026-03-01T11:59:55Z"): Partial<Pod> {
  return {
    status: {
      phase: exitCode === 0 ? "Succeeded" : "Failed",
      containerStatuses: [{ name: "bot", state: { terminated: { exitCode, reason: "Error", finishedAt } } }],
    },
  };
}

describe("decidePodPlan", () => {
  it("creates the pod when none exists and the bot may run", () => {
    expect(decidePodPlan({ wanted: pod(), observed: undefined, history: undefined, now: NOW })).toEqual({
      action: "create",
    });
  });

  it("keeps a pod that matches what is wanted", () => {
    expect(decidePodPlan({ wanted: pod(), observed: pod(), history: undefined, now: NOW })).toEqual({
      action: "keep",
    });
  });

  it("stops the pod when the bot must not run, and does nothing when it is already gone", () => {
    expect(decidePodPlan({ wanted: undefined, observed: pod(), history: undefined, now: NOW })).toEqual({
      action: "stop",
    });
    expect(decidePodPlan({ wanted: undefined, observed: undefined, history: undefined, now: NOW })).toEqual({
      action: "none",
    });
  });

  it("never creates while the old pod still terminates", () => {
    const terminating = pod(
      {},
      { metadata: { ...pod().metadata, deletionTimestamp: "2026-03-01T11:59:00Z" } },
    );
    expect(decidePodPlan({ wanted: pod(), observed: terminating, history: undefined, now: NOW })).toEqual({
      action: "awaitDeletion",
    });
  });

  it("replaces the pod, saying why, when the config, a Secret or the image changed", () => {
    const wanted = pod({ [ANNOTATIONS.podSpecHash]: "h2", [ANNOTATIONS.configHash]: "c2" });
    expect(decidePodPlan({ wanted, observed: pod(), history: undefined, now: NOW })).toMatchObject({
      action: "replace",
      cause: "ConfigChanged",
    });
    const rotated = pod({ [ANNOTATIONS.podSpecHash]: "h2", [ANNOTATIONS.exchangeSecretVersion]: "99" });
    expect(decidePodPlan({ wanted: rotated, observed: pod(), history: undefined, now: NOW })).toMatchObject({
      action: "replace",
      cause: "SecretRotated",
      detail: "the exchange credentials Secret changed",
    });
    const newImage = pod({ [ANNOTATIONS.podSpecHash]: "h2" }, {}, "bot:2");
    expect(decidePodPlan({ wanted: newImage, observed: pod(), history: undefined, now: NOW })).toMatchObject({
      action: "replace",
      cause: "ImageChanged",
    });
  });

  it("replaces a pod whose image was edited by hand", () => {
    expect(
      decidePodPlan({ wanted: pod(), observed: pod({}, {}, "evil:1"), history: undefined, now: NOW }),
    ).toMatchObject({
      action: "replace",
      cause: "PodChanged",
    });
  });

  it("waits out the backoff before restarting a failed pod, then restarts it", () => {
    const failed = pod({}, terminated(1, "2026-03-01T11:59:55Z"));
    expect(decidePodPlan({ wanted: pod(), observed: failed, history: undefined, now: NOW })).toMatchObject({
      action: "awaitRetry",
      retryAt: Date.parse("2026-03-01T12:00:05Z"),
    });
    expect(
      decidePodPlan({
        wanted: pod(),
        observed: failed,
        history: undefined,
        now: Date.parse("2026-03-01T12:00:05Z"),
      }),
    ).toMatchObject({ action: "restartAfterFailure", failure: { exitCode: 1 } });
  });

  it("backs off longer after each consecutive failure, up to five minutes", () => {
    expect([0, 1, 2, 3].map(restartBackoffMs)).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(restartBackoffMs(20)).toBe(300_000);
    const failed = pod({}, terminated(1, "2026-03-01T11:59:00Z"));
    expect(
      decidePodPlan({ wanted: pod(), observed: failed, history: { restarts: 3, notBefore: 0 }, now: NOW }),
    ).toMatchObject({
      action: "awaitRetry",
    });
  });

  it("does not create a pod before a remembered backoff has passed", () => {
    expect(
      decidePodPlan({
        wanted: pod(),
        observed: undefined,
        history: { restarts: 1, notBefore: NOW + 1000 },
        now: NOW,
      }),
    ).toEqual({ action: "awaitRetry", failure: undefined, retryAt: NOW + 1000 });
  });

  it("holds a pod that refused its credentials (exit 4) until the wanted pod changes", () => {
    const refused = pod({}, terminated(4));
    expect(
      decidePodPlan({ wanted: pod(), observed: refused, history: undefined, now: NOW + 3_600_000 }),
    ).toMatchObject({
      action: "blocked",
      failure: { exitCode: 4 },
    });
    const rotated = pod({ [ANNOTATIONS.podSpecHash]: "h2", [ANNOTATIONS.exchangeSecretVersion]: "99" });
    expect(decidePodPlan({ wanted: rotated, observed: refused, history: undefined, now: NOW })).toMatchObject(
      {
        action: "replace",
        cause: "SecretRotated",
      },
    );
  });
});

describe("podFailure", () => {
  it("reads the bot container's termination", () => {
    expect(podFailure(pod({}, terminated(1)))).toMatchObject({
      container: "bot",
      exitCode: 1,
      reason: "Error",
    });
  });

  it("reports a failed migration from the init container", () => {
    const failedInit = pod(
      {},
      {
        status: {
          phase: "Failed",
          initContainerStatuses: [{ name: "migrate", state: { terminated: { exitCode: 2 } } }],
        },
      },
    );
    expect(podFailure(failedInit)).toMatchObject({ container: "migrate", exitCode: 2 });
  });

  it("reports a pod that failed without a container status, such as an eviction", () => {
    expect(podFailure(pod({}, { status: { phase: "Failed", reason: "Evicted" } }))).toMatchObject({
      exitCode: -1,
      reason: "Evicted",
    });
  });

  it("reports nothing for a running pod", () => {
    expect(podFailure(pod({}, { status: { phase: "Running" } }))).toBeUndefined();
  });
});

describe("isPodReady", () => {
  it("follows the pod's Ready condition", () => {
    expect(isPodReady(pod({}, { status: { conditions: [{ type: "Ready", status: "True" }] } }))).toBe(true);
    expect(isPodReady(pod({}, { status: { conditions: [{ type: "Ready", status: "False" }] } }))).toBe(false);
    expect(isPodReady(undefined)).toBe(false);
  });
});
