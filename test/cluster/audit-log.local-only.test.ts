import { readFileSync } from "node:fs";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";
import { localControlPlane } from "./local-only-guard.ts";

interface AuditEvent {
  level: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  requestObject?: unknown;
}

describe("the API server's audit log", () => {
  const cluster = localControlPlane("the audit log");
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  let namespace: TestNamespace;

  beforeAll(async () => {
    namespace = await createTestNamespace(kc, "audit");
  });
  afterAll(() => namespace?.cleanup());

  const eventsIn = (ns: string): AuditEvent[] =>
    readFileSync(cluster.auditLogPath, "utf8")
      .split("\n")
      .filter((line) => line.includes(ns))
      .map((line) => JSON.parse(line) as AuditEvent)
      .filter((event) => event.objectRef?.namespace === ns);

  it("records each write once at Metadata level with its user, and no reads", async () => {
    const ns = namespace.name;
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "audited" } } });
    await core.patchNamespacedConfigMap({
      name: "audited",
      namespace: ns,
      body: [{ op: "add", path: "/data", value: { a: "b" } }],
    });
    await core.readNamespacedConfigMap({ name: "audited", namespace: ns });
    await core.listNamespacedConfigMap({ namespace: ns });
    await core.deleteNamespacedConfigMap({ name: "audited", namespace: ns });

    const events = await waitFor(
      () => {
        const found = eventsIn(ns).filter((e) => e.objectRef?.name === "audited");
        return found.length >= 3 ? found : undefined;
      },
      { what: `audit events for ConfigMap ${ns}/audited` },
    );
    expect(events.map((e) => e.verb)).toEqual(["create", "patch", "delete"]);
    for (const event of events) {
      expect(event.level).toBe("Metadata");
      expect(event.user.username).toBe("kubernetes-admin");
      expect(event.requestObject).toBeUndefined();
    }
    expect(eventsIn(ns).some((e) => ["get", "list", "watch"].includes(e.verb))).toBe(false);
  });
});
