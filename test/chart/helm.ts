import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadAll } from "js-yaml";
import { clusterContext } from "../support/context.ts";

// Helm, as the chart's suites run it: the helm built with the control plane, against the run's cluster.

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CHART_PATH = join(REPO_ROOT, "charts", "tradingbot-operator");
export const ALL_OPTIONS_VALUES = join(CHART_PATH, "ci", "all-options-values.yaml");

export interface HelmResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs helm with the run's admin kubeconfig; rejects on a non-zero exit unless `allowFailure`. */
export function helm(args: string[], options: { allowFailure?: boolean } = {}): Promise<HelmResult> {
  const context = clusterContext();
  return new Promise((resolve, reject) => {
    execFile(
      context.helmPath,
      [...args, `--kubeconfig=${context.kubeconfigPath}`],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        if (exitCode !== 0 && !options.allowFailure) {
          reject(new Error(`helm ${args.join(" ")} exited with ${exitCode}: ${stderr.trim()}`));
          return;
        }
        resolve({ stdout, stderr, exitCode });
      },
    );
  });
}

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export function parseManifests(yaml: string): KubeManifest[] {
  return (loadAll(yaml) as (KubeManifest | null)[]).filter((doc): doc is KubeManifest => doc !== null);
}

/** `helm template` of the chart: the manifests it renders for these values. */
export async function renderChart(
  options: { release?: string; namespace?: string; valuesFiles?: string[]; set?: string[] } = {},
): Promise<{ yaml: string; manifests: KubeManifest[] }> {
  const args = [
    "template",
    options.release ?? "tradingbot-operator",
    CHART_PATH,
    `--namespace=${options.namespace ?? "tradingbot-system"}`,
    ...(options.valuesFiles ?? []).map((file) => `--values=${file}`),
    ...(options.set ?? []).map((value) => `--set=${value}`),
  ];
  const { stdout } = await helm(args);
  return { yaml: stdout, manifests: parseManifests(stdout) };
}

export function findManifest(manifests: KubeManifest[], kind: string, name?: string): KubeManifest {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ""} among the rendered manifests`);
  return found;
}
