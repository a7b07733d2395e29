import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { buildPodStatus, type ContainerRecord, podPhase } from "./pod-status.ts";

const at = new Date("2030-01-01T00:00:00Z");
const waiting = (name: string, reason = "ContainerCreating"): ContainerRecord => ({
  name,
  state: { kind: "waiting", reason },
  restartCount: 0,
});
const running = (name: string, ready: boolean): ContainerRecord => ({
  name,
  state: { kind: "running", startedAt: at, started: true, ready, containerID: "local://1" },
  restartCount: 0,
});
const exited = (name: string, exitCode: number, message?: string): ContainerRecord => ({
  name,
  state: {
    kind: "terminated",
    exitCode,
    reason: exitCode === 0 ? "Completed" : "Error",
    message,
    startedAt: at,
    finishedAt: at,
    containerID: "local://1",
  },
  restartCount: 0,
});

describe("pod phase from container states", () => {
  const phase = (
    restartPolicy: string,
    containers: ContainerRecord[],
    initContainers: ContainerRecord[] = [],
  ) => podPhase({ restartPolicy, deleting: false, initContainers, containers });

  it("is Pending until a container runs, then Running", () => {
    expect(phase("Never", [waiting("a")])).toBe("Pending");
    expect(phase("Never", [running("a", false)], [exited("init", 0)])).toBe("Running");
    expect(phase("Never", [waiting("a", "PodInitializing")], [running("init", false)])).toBe("Pending");
  });

  it("ends Succeeded or Failed under restartPolicy Never", () => {
    expect(phase("Never", [exited("a", 0), exited("b", 0)])).toBe("Succeeded");
    expect(phase("Never", [exited("a", 0), exited("b", 3)])).toBe("Failed");
    expect(phase("Never", [exited("a", 0), running("b", true)])).toBe("Running");
  });

  it("fails the pod when an init container fails and will not be retried", () => {
    expect(phase("Never", [waiting("a", "PodInitializing")], [exited("init", 1)])).toBe("Failed");
    expect(phase("Always", [waiting("a", "PodInitializing")], [exited("init", 1)])).toBe("Pending");
  });

  it("keeps restartable pods Running, and ends them when deleted", () => {
    expect(phase("Always", [exited("a", 1)])).toBe("Running");
    expect(phase("OnFailure", [exited("a", 0)])).toBe("Succeeded");
    expect(
      podPhase({ restartPolicy: "Always", deleting: true, initContainers: [], containers: [exited("a", 0)] }),
    ).toBe("Succeeded");
  });
});

describe("pod status as a kubelet reports it", () => {
  const pod: V1Pod = {
    metadata: { name: "p", namespace: "ns", uid: "u", generation: 1 },
    spec: {
      restartPolicy: "Never",
      containers: [
        { name: "a", image: "img-a" },
        { name: "b", image: "img-b" },
      ],
    },
    status: {
      phase: "Pending",
      conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: at }],
      qosClass: "BestEffort",
    },
  };
  const status = (containers: ContainerRecord[], agentStopped = false) =>
    buildPodStatus({
      pod,
      podIP: "127.0.0.4",
      hostIP: "127.0.0.1",
      startTime: at,
      sandboxReady: true,
      initContainers: [],
      containers,
      agentStopped,
      now: at,
    });
  const conditionOf = (s: ReturnType<typeof status>, type: string) =>
    s.conditions?.find((c) => c.type === type);

  it("reports addresses, keeps the scheduler's condition and the fields it does not own", () => {
    const s = status([running("a", true), running("b", true)]);
    expect(s).toMatchObject({
      podIP: "127.0.0.4",
      podIPs: [{ ip: "127.0.0.4" }],
      hostIP: "127.0.0.1",
      hostIPs: [{ ip: "127.0.0.1" }],
      qosClass: "BestEffort",
      phase: "Running",
    });
    expect(conditionOf(s, "PodScheduled")?.status).toBe("True");
    expect(conditionOf(s, "Ready")?.status).toBe("True");
    expect(
      s.containerStatuses?.map((c) => [c.name, c.ready, c.started, c.state?.running?.startedAt]),
    ).toEqual([
      ["a", true, true, at],
      ["b", true, true, at],
    ]);
  });

  it("is not Ready while a container is unready, naming it", () => {
    const s = status([running("a", true), running("b", false)]);
    expect(conditionOf(s, "ContainersReady")).toMatchObject({
      status: "False",
      reason: "ContainersNotReady",
      message: "containers with unready status: [b]",
    });
    expect(conditionOf(s, "Ready")?.status).toBe("False");
  });

  it("reports exit code, reason and message of terminated containers", () => {
    const s = status([exited("a", 0), exited("b", 3, '{"reason":"RiskLimitBreached"}')]);
    expect(s.phase).toBe("Failed");
    expect(s.containerStatuses?.[1]?.state?.terminated).toMatchObject({
      exitCode: 3,
      reason: "Error",
      message: '{"reason":"RiskLimitBreached"}',
    });
    expect(conditionOf(s, "Ready")).toMatchObject({ status: "False", reason: "PodCompleted" });
  });

  it("reports nothing ready while the agent is stopped", () => {
    const s = status([running("a", true), running("b", true)], true);
    expect(conditionOf(s, "Ready")).toMatchObject({ status: "False", reason: "NodeAgentStopped" });
    expect(s.containerStatuses?.every((c) => c.ready === false)).toBe(true);
  });
});
