import { AuthenticationV1Api, CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminKubeConfig,
  createTestNamespace,
  serviceAccountKubeconfig,
  type TestNamespace,
} from "../support/kube.ts";
import { waitFor } from "../support/wait-for.ts";

/** The HTTP status of an API call: 200 when it succeeds, the error's code otherwise. */
const statusOf = (call: Promise<unknown>) =>
  call.then(
    () => 200,
    (e: { code?: number }) => e.code ?? 0,
  );

describe("RBAC for a ServiceAccount token bound to a narrow Role", () => {
  const adminKc = adminKubeConfig();
  let namespace: TestNamespace;
  let other: TestNamespace;
  let core: CoreV1Api;

  beforeAll(async () => {
    namespace = await createTestNamespace(adminKc, "rbac");
    other = await createTestNamespace(adminKc, "rbac-other");
    const ns = namespace.name;
    const adminCore = adminKc.makeApiClient(CoreV1Api);
    const rbac = adminKc.makeApiClient(RbacAuthorizationV1Api);
    await adminCore.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "reader" } } });
    await adminCore.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "visible" } } });
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "configmap-reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "reader-reads-configmaps" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: ns }],
      },
    });
    core = (await serviceAccountKubeconfig(adminKc, ns, "reader")).kubeConfig.makeApiClient(CoreV1Api);
  });
  afterAll(() => Promise.all([namespace?.cleanup(), other?.cleanup()]));

  it("authenticates as the ServiceAccount", async () => {
    const credentials = await serviceAccountKubeconfig(adminKc, namespace.name, "reader");
    const review = await credentials.kubeConfig
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace.name}:reader`);
  });

  it("allows what the Role grants: get and list ConfigMaps in its namespace", async () => {
    // The authorizer sees new bindings through a watch: allow it a moment.
    await waitFor(
      async () => (await statusOf(core.listNamespacedConfigMap({ namespace: namespace.name }))) === 200,
      { what: "the RoleBinding to take effect", timeoutMs: 10_000 },
    );
    const visible = await core.readNamespacedConfigMap({ name: "visible", namespace: namespace.name });
    expect(visible.metadata?.name).toBe("visible");
  });

  it("forbids everything else: writes, other resources, other namespaces, cluster scope", async () => {
    const ns = namespace.name;
    expect(
      await statusOf(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "new" } } })),
    ).toBe(403);
    expect(await statusOf(core.deleteNamespacedConfigMap({ name: "visible", namespace: ns }))).toBe(403);
    expect(await statusOf(core.listNamespacedSecret({ namespace: ns }))).toBe(403);
    expect(await statusOf(core.listNamespacedConfigMap({ namespace: other.name }))).toBe(403);
    expect(await statusOf(core.listNode())).toBe(403);
  });
});
