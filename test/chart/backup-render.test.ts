// The chart's backup CronJob: off by default; on, it runs `bot-runtime backup` with flags the runtime's own
// parser accepts, under Pod Security `restricted` (checked by a real API server that enforces it), with no
// ServiceAccount token, egress to the cluster DNS and PostgreSQL only, and a volume uninstall leaves behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBackupFlags } from "../../bot-runtime/cli/flags.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { CHART_PATH, findManifest, helm, type KubeManifest, renderChart } from "./helm.ts";
import { documentedIgnores, kubeScore } from "./kube-score.ts";

const RECIPIENTS = [
  "age1d7xdtj09ycs9hyg6pgmt0fcnl5pqjud5ud950rcrd6c2zxkhqyns9wgdqz",
  "age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg",
];
const BACKUP_ON = [
  "backup.enabled=true",
  `backup.recipients[0]=${RECIPIENTS[0]}`,
  `backup.recipients[1]=${RECIPIENTS[1]}`,
  "backup.database.existingSecret=tradingbot-backup-db",
];
const NAME = "tbo-tradingbot-operator-backup";

interface Container {
  name: string;
  image: string;
  command: string[];
  args: string[];
  securityContext: Record<string, unknown>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken: boolean;
  restartPolicy: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string }; persistentVolumeClaim?: { claimName: string } }[];
}
interface CronJob extends KubeManifest {
  spec: {
    schedule: string;
    concurrencyPolicy: string;
    jobTemplate: {
      spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
    };
  };
}
interface NetworkPolicy extends KubeManifest {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress: unknown[];
    egress: { to?: unknown[]; ports: { port: number; protocol: string }[] }[];
  };
}

const RESTRICTED = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
  "pod-security.kubernetes.io/warn": "restricted",
};

const backupObjects = (manifests: KubeManifest[]) =>
  manifests.filter((m) => m.metadata.labels?.["app.kubernetes.io/component"] === "backup");
const cronJob = (manifests: KubeManifest[]) => findManifest(manifests, "CronJob", NAME) as CronJob;
const podSpec = (manifests: KubeManifest[]) => cronJob(manifests).spec.jobTemplate.spec.template.spec;
const container = (manifests: KubeManifest[]) => {
  const found = podSpec(manifests).containers[0];
  if (found === undefined) throw new Error("the backup CronJob has no container");
  return found;
};

describe("the chart's backup CronJob", () => {
  let namespace: TestNamespace;
  beforeAll(async () => {
    namespace = await createTestNamespace(adminKubeConfig(), "chart-backup", RESTRICTED);
  });
  afterAll(async () => {
    await namespace?.cleanup();
  });

  it("is off by default", async () => {
    const { manifests } = await renderChart({ release: "tbo" });
    expect(backupObjects(manifests)).toEqual([]);
  });

  it("runs bot-runtime backup with flags its own parser accepts, each path a mounted volume", async () => {
    const { manifests } = await renderChart({ release: "tbo", set: BACKUP_ON });
    const job = cronJob(manifests);
    expect(job.spec).toMatchObject({ schedule: "17 3 * * *", concurrencyPolicy: "Forbid" });
    const backup = container(manifests);
    expect(backup.command).toEqual(["bot-runtime"]);
    expect(backup.args[0]).toBe("backup");
    const flags = parseBackupFlags(backup.args.slice(1));
    expect(flags).toEqual({
      databaseCredentials: "/var/run/secrets/tradingbot/backup-database",
      output: { dir: "/backup", keep: 30 },
      recipients: RECIPIENTS,
    });
    const operator = manifests.find(
      (m) => m.kind === "Deployment" && m.metadata.labels?.["app.kubernetes.io/component"] === "operator",
    ) as KubeManifest & { spec: { template: { spec: PodSpec } } };
    expect(backup.image).toBe(operator.spec.template.spec.containers[0]?.image);

    const volumes = new Map(podSpec(manifests).volumes.map((volume) => [volume.name, volume]));
    const mountOf = (path: string) => backup.volumeMounts.find((mount) => mount.mountPath === path);
    const secretMount = mountOf(flags.databaseCredentials);
    expect(secretMount?.readOnly).toBe(true);
    expect(volumes.get(secretMount?.name ?? "")?.secret?.secretName).toBe("tradingbot-backup-db");
    const backups = mountOf((flags.output as { dir: string }).dir);
    expect(volumes.get(backups?.name ?? "")?.persistentVolumeClaim?.claimName).toBe(NAME);
    expect(backup.resources.requests).toEqual(backup.resources.limits);

    const { manifests: keepAll } = await renderChart({
      release: "tbo",
      set: [...BACKUP_ON, "backup.keep=0"],
    });
    expect(parseBackupFlags(container(keepAll).args.slice(1)).output).toEqual({ dir: "/backup" });
  });

  it("runs under Pod Security restricted, with a ServiceAccount of its own and no token", async () => {
    const { manifests } = await renderChart({ release: "tbo", set: BACKUP_ON });
    const pod = podSpec(manifests);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(container(manifests).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe(NAME);
    expect(findManifest(manifests, "ServiceAccount", NAME)).toMatchObject({
      automountServiceAccountToken: false,
    });
    // No binding names it: the backup has no Kubernetes rights at all.
    const bound = manifests
      .filter((m) => m.kind === "RoleBinding" || m.kind === "ClusterRoleBinding")
      .flatMap((m) => (m.subjects as { name: string }[] | undefined) ?? []);
    expect(bound.map((subject) => subject.name)).not.toContain(NAME);
  });

  it("is admitted by an API server enforcing restricted, as a CronJob and as the pod its Jobs create", async () => {
    const { manifests } = await renderChart({ release: "tbo", namespace: namespace.name, set: BACKUP_ON });
    const job = cronJob(manifests);
    const created = await kubectl(
      ["create", "--dry-run=server", `--namespace=${namespace.name}`, "-f", "-"],
      {
        input: JSON.stringify(job),
      },
    );
    // Pod Security warns (warn=restricted) about a workload whose pods it would refuse.
    expect(created.stderr).not.toMatch(/violate|PodSecurity/i);
    // The pod's admission looks its ServiceAccount up: that one is created for real.
    await kubectl(["create", `--namespace=${namespace.name}`, "-f", "-"], {
      input: JSON.stringify(findManifest(manifests, "ServiceAccount", NAME)),
    });
    const template = job.spec.jobTemplate.spec.template;
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "backup-admission-check", labels: template.metadata.labels },
      spec: template.spec,
    };
    const admitted = await kubectl(
      ["create", "--dry-run=server", `--namespace=${namespace.name}`, "-f", "-"],
      { input: JSON.stringify(pod), allowFailure: true },
    );
    expect(admitted.exitCode, admitted.stderr).toBe(0);
    expect(admitted.stderr).not.toMatch(/violate|PodSecurity/i);
  });

  it("lets its pod reach the cluster DNS and PostgreSQL, and nothing reach it", async () => {
    const { manifests } = await renderChart({
      release: "tbo",
      set: [...BACKUP_ON, "backup.networkPolicy.postgresql.ports[0]=6432"],
    });
    const policy = findManifest(manifests, "NetworkPolicy", NAME) as NetworkPolicy;
    const podLabels = cronJob(manifests).spec.jobTemplate.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(policy.spec.podSelector.matchLabels))
      expect(podLabels[key], key).toBe(value);
    expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(policy.spec.ingress).toEqual([]);
    expect(policy.spec.egress).toEqual([
      {
        to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
        ports: [
          { port: 53, protocol: "UDP" },
          { port: 53, protocol: "TCP" },
        ],
      },
      { ports: [{ port: 6432, protocol: "TCP" }] },
    ]);
    // The operator's pods are selected by name and instance: the backup's pods carry another name.
    const operatorPolicy = findManifest(
      manifests,
      "NetworkPolicy",
      "tbo-tradingbot-operator",
    ) as NetworkPolicy;
    const selectsBackup = Object.entries(operatorPolicy.spec.podSelector.matchLabels).every(
      ([key, value]) => podLabels[key] === value,
    );
    expect(selectsBackup).toBe(false);

    // A peer narrows the PostgreSQL rule to that address.
    const withPeer = await helm([
      "template",
      "tbo",
      CHART_PATH,
      ...BACKUP_ON.map((value) => `--set=${value}`),
      '--set-json=backup.networkPolicy.postgresql.peers=[{"ipBlock":{"cidr":"10.20.0.5/32"}}]',
      "--show-only=templates/backup-networkpolicy.yaml",
    ]);
    expect(withPeer.stdout).toContain("cidr: 10.20.0.5/32");
    const { manifests: noPolicies } = await renderChart({
      release: "tbo",
      set: [...BACKUP_ON, "networkPolicy.enabled=false"],
    });
    expect(noPolicies.filter((m) => m.kind === "NetworkPolicy" && m.metadata.name === NAME)).toEqual([]);
  });

  it("creates a volume that uninstall keeps, or writes to the claim it is given", async () => {
    const { manifests } = await renderChart({ release: "tbo", set: BACKUP_ON });
    const claim = findManifest(manifests, "PersistentVolumeClaim", NAME) as KubeManifest & {
      metadata: { annotations: Record<string, string> };
      spec: { resources: { requests: { storage: string } }; accessModes: string[] };
    };
    expect(claim.metadata.annotations["helm.sh/resource-policy"]).toBe("keep");
    expect(claim.spec).toMatchObject({
      resources: { requests: { storage: "10Gi" } },
      accessModes: ["ReadWriteOnce"],
    });
    const { manifests: existing } = await renderChart({
      release: "tbo",
      set: [...BACKUP_ON, "backup.persistence.existingClaim=nightly-backups"],
    });
    expect(existing.filter((m) => m.kind === "PersistentVolumeClaim")).toEqual([]);
    expect(
      podSpec(existing).volumes.find((volume) => volume.name === "backups")?.persistentVolumeClaim,
    ).toEqual({
      claimName: "nightly-backups",
    });
  });

  it("passes helm lint --strict and kube-score beyond the documented ignores", async () => {
    const lint = await helm(["lint", "--strict", CHART_PATH, ...BACKUP_ON.map((value) => `--set=${value}`)], {
      allowFailure: true,
    });
    expect(lint.exitCode, `${lint.stdout}${lint.stderr}`).toBe(0);
    expect(`${lint.stdout}${lint.stderr}`).not.toMatch(/\[(WARNING|ERROR)\]/);
    const { yaml } = await renderChart({ release: "tbo", set: BACKUP_ON });
    const scored = await kubeScore(
      yaml,
      documentedIgnores().map((ignore) => ignore.check),
    );
    expect(scored.objects).toContain(`CronJob/batch/v1/tradingbot-system/${NAME}`);
    expect(scored.findings.filter((finding) => finding.object.includes("backup"))).toEqual([]);
  });

  it("refuses values a backup cannot run with, saying which", async () => {
    const template = (set: string[]) =>
      helm(["template", "tbo", CHART_PATH, ...set.map((value) => `--set=${value}`)], { allowFailure: true });
    const noRecipient = await template(["backup.enabled=true", "backup.database.existingSecret=db"]);
    expect(noRecipient.exitCode).not.toBe(0);
    expect(noRecipient.stderr).toContain("backup.enabled needs backup.recipients");
    const noSecret = await template(["backup.enabled=true", `backup.recipients[0]=${RECIPIENTS[0]}`]);
    expect(noSecret.stderr).toContain("backup.enabled needs backup.database.existingSecret");
    const sshKey = await template([...BACKUP_ON, "backup.recipients[0]=ssh-ed25519 AAAAC3Nza"]);
    expect(sshKey.stderr).toMatch(/backup\/recipients\/0.*does not match pattern/);
    const badSchedule = await template([...BACKUP_ON, "backup.schedule=every night"]);
    expect(badSchedule.stderr).toMatch(/backup\/schedule/);
    const unknown = await template([...BACKUP_ON, "backup.retention=3"]);
    expect(unknown.stderr).toMatch(/additional properties 'retention' not allowed|retention/);
  });
});
