// The console as the chart renders it, checked without installing it: flags its own parser accepts, Pod
// Security `restricted`, RBAC exactly as console/rbac.ts builds it, the NetworkPolicy, the generated
// Secrets, and the refusals of unsafe values.
import { describe, expect, it } from "vitest";
import { consoleRbac } from "../../console/rbac.ts";
import { parseConsoleFlags } from "../../console/server/options.ts";
import {
  ALL_OPTIONS_VALUES,
  CHART_PATH,
  findManifest,
  helm,
  type KubeManifest,
  renderChart,
} from "./helm.ts";

interface Probe {
  exec?: { command: string[] };
  httpGet?: unknown;
}
interface ConsoleContainer {
  name: string;
  image: string;
  command: string[];
  args: string[];
  ports: { name: string; containerPort: number }[];
  securityContext: Record<string, unknown>;
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  securityContext: Record<string, unknown>;
  containers: ConsoleContainer[];
  volumes: { name: string; secret?: { secretName: string } }[];
}
interface Deployment extends KubeManifest {
  spec: {
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const byComponent = (manifests: KubeManifest[], kind: string, component: string) => {
  const found = manifests.find(
    (m) => m.kind === kind && m.metadata.labels?.["app.kubernetes.io/component"] === component,
  );
  if (!found) throw new Error(`no ${kind} of component ${component}`);
  return found;
};
const consoleDeployment = (manifests: KubeManifest[]) =>
  byComponent(manifests, "Deployment", "console") as Deployment;
const consoleContainer = (manifests: KubeManifest[]) => {
  const container = consoleDeployment(manifests).spec.template.spec.containers[0];
  if (!container) throw new Error("the console Deployment has no container");
  return container;
};

/** The ClusterRole rules console/rbac.ts gives a console serving these users and groups. */
function expectedRules(users: string[], groups: string[]): PolicyRule[] {
  const role = consoleRbac({ name: "x", namespace: "x", serviceAccount: "x", users, groups }).find(
    (object) => object.kind === "ClusterRole",
  ) as unknown as { rules: PolicyRule[] };
  return role.rules;
}

describe("the chart's console", () => {
  it("is on by default: HTTP on 127.0.0.1 for kubectl port-forward, the first user admin, the operator's image", async () => {
    const { manifests } = await renderChart({ release: "tbo", namespace: "ops" });
    const container = consoleContainer(manifests);
    expect(container.command).toEqual(["node", "dist/console/main.js"]);
    const operator = byComponent(manifests, "Deployment", "operator") as Deployment;
    expect(container.image).toBe(operator.spec.template.spec.containers[0]?.image);
    const options = parseConsoleFlags(container.args);
    expect(options).toMatchObject({
      listen: "127.0.0.1:8443",
      metricsListen: "0.0.0.0:9464",
      sessionKeysFile: "/etc/tradingbot-console/session-keys/keys",
      firstUser: {
        name: "admin",
        groups: ["tradingbot-console-admins"],
        passwordFile: "/etc/tradingbot-console/first-user/password",
      },
      impersonateGroups: ["tradingbot-console-admins"],
      trustedProxies: 0,
      allowedOrigins: [],
    });
    expect(options.tlsDir).toBeUndefined();
    expect(options.usersFile).toBeUndefined();
    // Each flag's file is in a mounted Secret.
    const mounts = container.volumeMounts.map((mount) => mount.mountPath);
    for (const file of [options.sessionKeysFile, options.firstUser?.passwordFile]) {
      expect(
        mounts.some((path) => file?.startsWith(`${path}/`)),
        file,
      ).toBe(true);
    }
    const service = findManifest(manifests, "Service", "tbo-tradingbot-operator-console") as KubeManifest & {
      spec: { type: string; selector: Record<string, string> };
    };
    expect(service.spec.type).toBe("ClusterIP");
    expect(service.spec.selector).toEqual(consoleDeployment(manifests).spec.selector.matchLabels);
    expect(manifests.filter((m) => m.kind === "Ingress")).toEqual([]);
  });

  it("runs under Pod Security restricted, with its own ServiceAccount, probing /healthz from inside the pod", async () => {
    const { manifests } = await renderChart({ release: "tbo" });
    const pod = consoleDeployment(manifests).spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const container = consoleContainer(manifests);
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.serviceAccountName).toBe("tbo-tradingbot-operator-console");
    expect(findManifest(manifests, "ServiceAccount", "tbo-tradingbot-operator-console")).toMatchObject({
      automountServiceAccountToken: false,
    });
    expect(pod.automountServiceAccountToken).toBe(true);
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(probe.exec?.command.slice(0, 2)).toEqual(["node", "-e"]);
      expect(probe.exec?.command[2]).toContain("host:'127.0.0.1',port:8443,path:'/healthz'");
    }
    expect(container.livenessProbe).not.toEqual(container.readinessProbe);
    for (const mount of container.volumeMounts.filter((m) => m.name !== "tmp"))
      expect(mount.readOnly).toBe(true);
  });

  it("carries none of the operator's pod labels, so nothing that admits the operator admits the console", async () => {
    const { manifests } = await renderChart({ release: "tbo" });
    const operator = byComponent(manifests, "Deployment", "operator") as Deployment;
    const consolePodLabels = consoleDeployment(manifests).spec.template.metadata.labels;
    const selects = Object.entries(operator.spec.selector.matchLabels).every(
      ([key, value]) => consolePodLabels[key] === value,
    );
    expect(selects).toBe(false);
  });

  it("generates the session keys and the first user's password", async () => {
    const { manifests } = await renderChart({ release: "tbo" });
    const data = (name: string) =>
      (findManifest(manifests, "Secret", name) as KubeManifest & { data: Record<string, string> }).data;
    const keys = Buffer.from(
      data("tbo-tradingbot-operator-console-session-keys").keys ?? "",
      "base64",
    ).toString();
    expect(keys).toMatch(/^[A-Za-z0-9+/]{43}=\n$/);
    expect(Buffer.from(keys.trim(), "base64")).toHaveLength(32);
    const first = data("tbo-tradingbot-operator-console-first-user");
    expect(Buffer.from(first.username ?? "", "base64").toString()).toBe("admin");
    expect(Buffer.from(first.password ?? "", "base64").toString()).toMatch(/^[A-Za-z0-9]{24}$/);
  });

  it("grants exactly console/rbac.ts's rules, impersonating only the configured users and groups", async () => {
    const { manifests } = await renderChart({ release: "tbo" });
    const role = findManifest(manifests, "ClusterRole", "tbo-tradingbot-operator-console");
    expect(role.rules).toEqual(expectedRules(["admin"], ["tradingbot-console-admins"]));
    expect(findManifest(manifests, "ClusterRoleBinding", "tbo-tradingbot-operator-console").subjects).toEqual(
      [{ kind: "ServiceAccount", name: "tbo-tradingbot-operator-console", namespace: "tradingbot-system" }],
    );
    for (const role of ["viewer", "halter"]) {
      const binding = findManifest(
        manifests,
        "ClusterRoleBinding",
        `tbo-tradingbot-operator-console-first-user-${role}`,
      );
      expect(binding.roleRef).toMatchObject({ kind: "ClusterRole", name: `tbo-tradingbot-operator-${role}` });
      expect(binding.subjects).toEqual([
        { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "tradingbot-console-admins" },
      ]);
    }

    const { manifests: all } = await renderChart({ valuesFiles: [ALL_OPTIONS_VALUES] });
    expect(findManifest(all, "ClusterRole", "trading-operator-console").rules).toEqual(
      expectedRules(
        ["alice", "bob@example.com", "oidc:carol@example.com"],
        ["desk-a-traders", "risk", "oidc:desk-a"],
      ),
    );
    // An existing users Secret with no names listed: no impersonate rule at all, not one for every name.
    const { manifests: none } = await renderChart({
      release: "tbo",
      set: ["console.users.existingSecret=console-users"],
    });
    expect(findManifest(none, "ClusterRole", "tbo-tradingbot-operator-console").rules).toEqual(
      expectedRules([], []),
    );
    expect(none.filter((m) => m.metadata.name.includes("first-user"))).toEqual([]);
  });

  it("serves HTTPS with a certificate, behind an Ingress, with every option on", async () => {
    const { manifests } = await renderChart({ valuesFiles: [ALL_OPTIONS_VALUES] });
    const container = consoleContainer(manifests);
    const options = parseConsoleFlags(container.args);
    expect(options).toMatchObject({
      listen: "0.0.0.0:9443",
      metricsListen: "0.0.0.0:9465",
      tlsDir: "/etc/tradingbot-console/tls",
      usersFile: "/etc/tradingbot-console/users/users.yaml",
      sessionKeyGraceMs: 24 * 3_600_000,
      allowedOrigins: ["https://ops.example.com"],
      trustedProxies: 1,
      impersonateGroups: ["desk-a-traders", "risk", "oidc:desk-a"],
      databaseCredentials: "/etc/tradingbot-console/database",
    });
    expect(options.firstUser).toBeUndefined();
    const secrets = consoleDeployment(manifests).spec.template.spec.volumes.map((v) => v.secret?.secretName);
    expect(secrets).toEqual(
      expect.arrayContaining([
        "trading-console-tls",
        "trading-console-session-keys",
        "trading-console-users",
        "trading-console-database",
        "trading-console-oidc",
      ]),
    );
    expect(manifests.filter((m) => m.kind === "Secret")).toEqual([]);
    for (const probe of [container.livenessProbe, container.readinessProbe]) {
      expect(probe.exec?.command[2]).toMatch(/^require\('https'\)/);
    }
    const ingress = findManifest(manifests, "Ingress", "trading-operator-console");
    expect(ingress.spec).toMatchObject({
      ingressClassName: "nginx",
      tls: [{ hosts: ["console.example.com"], secretName: "console-example-com-tls" }],
      rules: [
        {
          host: "console.example.com",
          http: {
            paths: [{ backend: { service: { name: "trading-operator-console", port: { name: "https" } } } }],
          },
        },
      ],
    });
  });

  it("has a NetworkPolicy: ingress only from the configured sources, egress only to the API server, DNS, PostgreSQL and the OIDC issuer", async () => {
    interface Policy extends KubeManifest {
      spec: {
        podSelector: { matchLabels: Record<string, string> };
        policyTypes: string[];
        ingress: { from: unknown[]; ports: { port: string | number }[] }[];
        egress: { to?: unknown[]; ports: { port: number; protocol: string }[] }[];
      };
    }
    const { manifests } = await renderChart({ release: "tbo" });
    const policy = findManifest(manifests, "NetworkPolicy", "tbo-tradingbot-operator-console") as Policy;
    expect(policy.spec.podSelector.matchLabels).toEqual(
      consoleDeployment(manifests).spec.selector.matchLabels,
    );
    expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    // By default only Prometheus, to the metrics port: the console itself is on loopback.
    expect(policy.spec.ingress).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
        ports: [{ port: "metrics", protocol: "TCP" }],
      },
    ]);
    expect(policy.spec.egress).toEqual([
      {
        ports: [
          { port: 443, protocol: "TCP" },
          { port: 6443, protocol: "TCP" },
        ],
      },
      {
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
        ports: [
          { port: 53, protocol: "UDP" },
          { port: 53, protocol: "TCP" },
        ],
      },
    ]);

    const { manifests: all } = await renderChart({ valuesFiles: [ALL_OPTIONS_VALUES] });
    const full = findManifest(all, "NetworkPolicy", "trading-operator-console") as Policy;
    expect(full.spec.ingress[0]).toEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
          podSelector: { matchLabels: { "app.kubernetes.io/name": "ingress-nginx" } },
        },
      ],
      ports: [{ port: "https", protocol: "TCP" }],
    });
    expect(full.spec.egress).toHaveLength(4);
    expect(full.spec.egress).toEqual(
      expect.arrayContaining([
        { to: [{ ipBlock: { cidr: "10.30.0.10/32" } }], ports: [{ port: 5432, protocol: "TCP" }] },
        { to: [{ ipBlock: { cidr: "203.0.113.0/24" } }], ports: [{ port: 443, protocol: "TCP" }] },
      ]),
    );
  });

  const OIDC_ON = [
    "console.oidc.enabled=true",
    "console.oidc.issuerUrl=https://login.example.com/realms/desk",
    "console.oidc.clientId=tradingbot-console",
    "console.oidc.clientSecret.existingSecret=console-oidc",
    "console.oidc.users={oidc:alice@example.com,oidc:bob@example.com}",
    "console.impersonateGroups={oidc:desk}",
    "console.networkPolicy.oidcIssuer.peers[0].ipBlock.cidr=203.0.113.7/32",
  ];

  it("signs people in through an OIDC issuer when console.oidc is on: the secret a mounted file, its users in the ClusterRole, egress to the issuer", async () => {
    const { manifests, yaml } = await renderChart({
      release: "tbo",
      set: [...OIDC_ON, "console.oidc.ca.existingConfigMap=desk-ca", "console.oidc.displayName=Desk SSO"],
    });
    const container = consoleContainer(manifests);
    const options = parseConsoleFlags(container.args);
    expect(options.oidc).toEqual({
      issuerUrl: "https://login.example.com/realms/desk",
      clientId: "tradingbot-console",
      clientSecretFile: "/etc/tradingbot-console/oidc/client-secret",
      // Without TLS the console is reached through kubectl port-forward on loopback.
      redirectUrl: "http://127.0.0.1:8443/auth/oidc/callback",
      usernameClaim: "email",
      groupsClaim: "groups",
      usernamePrefix: "oidc:",
      groupsPrefix: "oidc:",
      scopes: ["openid", "email", "groups"],
      caFile: "/etc/tradingbot-console/oidc-ca/ca.crt",
      displayName: "Desk SSO",
    });
    expect(options.impersonateUsers).toEqual(["oidc:alice@example.com", "oidc:bob@example.com"]);
    expect(options.impersonateGroups).toEqual(["oidc:desk", "tradingbot-console-admins"]);
    // The secret is a file of a mounted Secret, never an argument.
    const mounts = container.volumeMounts.map((mount) => mount.mountPath);
    for (const file of [options.oidc?.clientSecretFile, options.oidc?.caFile]) {
      expect(
        mounts.some((path) => file?.startsWith(`${path}/`)),
        file,
      ).toBe(true);
    }
    const volumes = consoleDeployment(manifests).spec.template.spec.volumes as {
      name: string;
      secret?: { secretName: string; items: { key: string; path: string }[] };
      configMap?: { name: string };
    }[];
    expect(volumes.find((v) => v.name === "oidc-client-secret")?.secret).toMatchObject({
      secretName: "console-oidc",
      items: [{ key: "client-secret", path: "client-secret" }],
    });
    expect(volumes.find((v) => v.name === "oidc-ca")?.configMap).toMatchObject({ name: "desk-ca" });
    expect(yaml).not.toMatch(/--oidc-client-secret=/);

    const role = findManifest(manifests, "ClusterRole", "tbo-tradingbot-operator-console");
    expect(role.rules).toEqual(
      expectedRules(
        ["admin", "oidc:alice@example.com", "oidc:bob@example.com"],
        ["oidc:desk", "tradingbot-console-admins"],
      ),
    );
    const policy = findManifest(
      manifests,
      "NetworkPolicy",
      "tbo-tradingbot-operator-console",
    ) as KubeManifest & {
      spec: { egress: unknown[] };
    };
    expect(policy.spec.egress).toContainEqual({
      to: [{ ipBlock: { cidr: "203.0.113.7/32" } }],
      ports: [{ port: 443, protocol: "TCP" }],
    });

    // Behind the Ingress, the callback is the Ingress's host.
    const { manifests: behindIngress } = await renderChart({
      valuesFiles: [ALL_OPTIONS_VALUES],
      set: OIDC_ON.filter((value) => !value.startsWith("console.impersonateGroups")),
    });
    expect(parseConsoleFlags(consoleContainer(behindIngress).args).oidc?.redirectUrl).toBe(
      "https://console.example.com/auth/oidc/callback",
    );
  });

  const oidcRejected: { set: string[]; message: string }[] = [
    {
      set: OIDC_ON.filter((value) => !value.startsWith("console.networkPolicy.oidcIssuer")),
      message: "console.oidc.enabled with networkPolicy.enabled needs console.networkPolicy.oidcIssuer.peers",
    },
    {
      set: [...OIDC_ON, "console.oidc.issuerUrl=https://login.example.com:8443"],
      message: "console.networkPolicy.oidcIssuer.ports must include 8443, the port of console.oidc.issuerUrl",
    },
    {
      set: [...OIDC_ON, "console.oidc.users={alice@example.com}"],
      message: "console.oidc.users: alice@example.com must start with console.oidc.usernamePrefix (oidc:)",
    },
    {
      set: [...OIDC_ON, "console.oidc.users=null"],
      message: "console.oidc.users: list who may sign in through the issuer",
    },
    {
      set: [...OIDC_ON, "console.oidc.usernamePrefix=system:", "console.oidc.users={system:alice}"],
      message: "console.oidc: the prefix system: is refused",
    },
    {
      set: OIDC_ON.filter((value) => !value.startsWith("console.oidc.clientSecret")),
      message: "console.oidc.clientSecret.existingSecret: required with console.oidc.enabled",
    },
    {
      set: [...OIDC_ON, "console.tls.existingSecret=console-tls"],
      message:
        "console.oidc.redirectUrl: required with console.tls.existingSecret and no console.ingress.host",
    },
  ];

  it.each(oidcRejected)("refuses OIDC values that cannot work ($message)", async ({ set, message }) => {
    const result = await helm(["template", "tbo", CHART_PATH, ...set.map((value) => `--set=${value}`)], {
      allowFailure: true,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it("renders nothing of the console when it is off", async () => {
    const { manifests } = await renderChart({ set: ["console.enabled=false"] });
    expect(manifests.filter((m) => m.metadata.labels?.["app.kubernetes.io/component"] === "console")).toEqual(
      [],
    );
  });

  const rejected: { set: string; message: string }[] = [
    {
      set: "console.ingress.enabled=true",
      message:
        "console.ingress.enabled needs console.tls.existingSecret: without TLS the console listens on 127.0.0.1",
    },
    {
      set: "console.service.type=LoadBalancer",
      message: "console.service.type LoadBalancer needs console.tls.existingSecret",
    },
    {
      set: "console.networkPolicy.ingressFrom[0].ipBlock.cidr=10.0.0.0/8",
      message: "console.networkPolicy.ingressFrom needs console.tls.existingSecret",
    },
    {
      set: "console.allowedOrigins={*}",
      message: "at '/console/allowedOrigins/0': '*' does not match pattern",
    },
    {
      set: "console.impersonateGroups={system:masters}",
      message: "console: system:masters is refused as a user or group to impersonate",
    },
    {
      set: "console.oidc.usernamePrefix=a b",
      message: "at '/console/oidc/usernamePrefix': 'a b' does not match pattern",
    },
    {
      set: "console.oidc.issuerUrl=http://login.example.com",
      message: "at '/console/oidc/issuerUrl': 'http://login.example.com' does not match pattern",
    },
    {
      set: "console.oidc.scopes={email}",
      message: "at '/console/oidc/scopes'",
    },
    {
      set: "console.users.firstUser.name=systemadmin",
      message: "console: systemadmin is refused as a user or group to impersonate",
    },
    {
      set: "console.users.firstUser.clusterRoles={cluster-admin}",
      message:
        "at '/console/users/firstUser/clusterRoles/0': value must be one of 'viewer', 'halter', 'editor'",
    },
    { set: "console.trustedProxies=11", message: "at '/console/trustedProxies': maximum: got 11, want 10" },
    {
      set: "console.sessionKeys.grace=1y",
      message: "at '/console/sessionKeys/grace': '1y' does not match pattern",
    },
    { set: "console.metricsPort=8443", message: "console.port and console.metricsPort are both 8443" },
    {
      set: "console.tls.enabled=true",
      message: "at '/console/tls': additional properties 'enabled' not allowed",
    },
  ];

  it.each(rejected)("rejects --set $set, saying why", async ({ set, message }) => {
    const result = await helm(["template", "tbo", CHART_PATH, `--set=${set}`], { allowFailure: true });
    expect(result.exitCode).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(message);
  });

  it("reads bot records through the read-only database role's Secret, mounted as files, when console.database is set", async () => {
    const { manifests } = await renderChart({
      release: "tbo",
      set: [
        "console.database.existingSecret=console-database",
        "console.networkPolicy.postgresql.peers[0].ipBlock.cidr=10.0.5.0/24",
      ],
    });
    const container = consoleContainer(manifests);
    expect(container.args).toContain("--database-credentials=/etc/tradingbot-console/database");
    expect(parseConsoleFlags(container.args).databaseCredentials).toBe("/etc/tradingbot-console/database");
    expect(container.volumeMounts).toContainEqual({
      name: "database",
      mountPath: "/etc/tradingbot-console/database",
      readOnly: true,
    });
    expect(consoleDeployment(manifests).spec.template.spec.volumes).toContainEqual(
      expect.objectContaining({
        name: "database",
        secret: expect.objectContaining({ secretName: "console-database" }),
      }),
    );

    const without = consoleContainer((await renderChart({ release: "tbo" })).manifests);
    expect(without.args.some((arg) => arg.startsWith("--database-credentials"))).toBe(false);
    expect(without.volumeMounts.map((mount) => mount.name)).not.toContain("database");

    const cutOff = await helm(
      ["template", "tbo", CHART_PATH, "--set=console.database.existingSecret=console-database"],
      { allowFailure: true },
    );
    expect(cutOff.exitCode).not.toBe(0);
    expect(cutOff.stderr).toContain(
      "console.database.existingSecret with networkPolicy.enabled needs console.networkPolicy.postgresql.peers",
    );
  });

  it("refuses an Ingress the NetworkPolicy would cut off", async () => {
    const result = await helm(
      [
        "template",
        "tbo",
        CHART_PATH,
        "--set=console.ingress.enabled=true",
        "--set=console.ingress.host=console.example.com",
        "--set=console.tls.existingSecret=console-tls",
      ],
      { allowFailure: true },
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain(
      "console.ingress.enabled with networkPolicy.enabled needs console.networkPolicy.ingressFrom",
    );
  });
});
