import { readFileSync } from "node:fs";
import { CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type CollectionWatch,
  type KubeEndpoint,
  type WatchEventType,
  watchCollection,
} from "../../bot-runtime/halt-watch/kube-watch.ts";
import {
  adminKubeConfig,
  createTestNamespace,
  serviceAccountKubeconfig,
  type TestNamespace,
} from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";

// The bot runtime's own list+watch client against the real API server, authenticated as a pod is: with a
// ServiceAccount token, trusting the cluster CA. ConfigMaps stand in for TradingBots (same API machinery,
// no CRD to install).

interface ConfigMap {
  metadata: { name: string; resourceVersion?: string };
  data?: Record<string, string>;
}

const adminKc = adminKubeConfig();
const core = adminKc.makeApiClient(CoreV1Api);
let namespace: TestNamespace;
let watcherToken: string;
let outsiderToken: string;
let running: CollectionWatch | undefined;

/** The API server as a pod sees it: its URL, the cluster CA, a bearer token. */
function endpointWith(token: string): KubeEndpoint {
  const cluster = adminKc.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
  const ca = cluster.caData ? Buffer.from(cluster.caData, "base64") : readFileSync(cluster.caFile ?? "");
  return { url: cluster.server, ca, token: () => token };
}

/** A watch of the test namespace's ConfigMaps named `name`, recording what it hears. */
function watchConfigMap(name: string, token: string) {
  const lists: ConfigMap[][] = [];
  const events: { type: WatchEventType; name: string; data?: Record<string, string> }[] = [];
  const problems: string[] = [];
  running = watchCollection<ConfigMap>({
    endpoint: endpointWith(token),
    path: `/api/v1/namespaces/${namespace.name}/configmaps`,
    fieldSelector: `metadata.name=${name}`,
    onList: (items) => lists.push(items),
    onEvent: (type, object) => events.push({ type, name: object.metadata.name, data: object.data }),
    onProblem: (message) => problems.push(message),
    initialBackoffMs: 50,
    maxBackoffMs: 500,
  });
  return { watch: running, lists, events, problems };
}

beforeAll(async () => {
  namespace = await createTestNamespace(adminKc, "kube-watch");
  const ns = namespace.name;
  const rbac = adminKc.makeApiClient(RbacAuthorizationV1Api);
  for (const name of ["watcher", "outsider"]) {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
  }
  await rbac.createNamespacedRole({
    namespace: ns,
    body: {
      metadata: { name: "configmap-watcher" },
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: "watcher-watches-configmaps" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-watcher" },
      subjects: [{ kind: "ServiceAccount", name: "watcher", namespace: ns }],
    },
  });
  const watcher = await serviceAccountKubeconfig(adminKc, ns, "watcher");
  watcherToken = watcher.token;
  outsiderToken = (await serviceAccountKubeconfig(adminKc, ns, "outsider")).token;
  // The authorizer sees new bindings through a watch: wait until the watcher may list.
  const watcherCore = watcher.kubeConfig.makeApiClient(CoreV1Api);
  await waitFor(() => watcherCore.listNamespacedConfigMap({ namespace: ns }).then(() => true), {
    what: "the watcher's RoleBinding to take effect",
    timeoutMs: 10_000,
  });
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

afterAll(() => namespace?.cleanup());

describe("watchCollection against the API server, with a ServiceAccount token", () => {
  it("delivers the creation, update and deletion of the selected ConfigMap, and nothing of another", async () => {
    const ns = namespace.name;
    const { watch, lists, events, problems } = watchConfigMap("watched", watcherToken);
    await waitFor(() => lists.length === 1, { what: "the first list" });
    expect(lists[0]).toEqual([]);
    expect(watch.confirmedAt()).toBeTypeOf("number");

    // Each change of `other` comes before a change of `watched`: had the watch delivered it, it would be
    // in `events` by the time the later event is.
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "other" } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "watched" } } });
    await waitFor(() => events.length === 1, { what: "the ADDED event" });
    await core.replaceNamespacedConfigMap({
      name: "other",
      namespace: ns,
      body: { metadata: { name: "other" }, data: { halted: "true" } },
    });
    await core.replaceNamespacedConfigMap({
      name: "watched",
      namespace: ns,
      body: { metadata: { name: "watched" }, data: { halted: "true" } },
    });
    await waitFor(() => events.length === 2, { what: "the MODIFIED event" });
    await core.deleteNamespacedConfigMap({ name: "other", namespace: ns });
    await core.deleteNamespacedConfigMap({ name: "watched", namespace: ns });
    await waitFor(() => events.length === 3, { what: "the DELETED event" });

    expect(events).toEqual([
      { type: "ADDED", name: "watched", data: undefined },
      { type: "MODIFIED", name: "watched", data: { halted: "true" } },
      { type: "DELETED", name: "watched", data: { halted: "true" } },
    ]);
    expect(problems).toEqual([]);
  });

  it("reports a 403 with the API server's reason, not the token, when the ServiceAccount may not list", async () => {
    const { lists, problems } = watchConfigMap("watched", outsiderToken);
    const problem = await waitFor(() => problems[0], { what: "a problem report" });
    expect(problem).toMatch(/HTTP 403: .*cannot list resource "configmaps"/);
    expect(problem).toContain(`system:serviceaccount:${namespace.name}:outsider`);
    expect(problem).not.toContain(outsiderToken);
    // It keeps trying (the token may be rotated, the Role granted), and lists nothing meanwhile.
    await waitFor(() => problems.length >= 2, { what: "a retry" });
    expect(lists).toEqual([]);
  });
});
