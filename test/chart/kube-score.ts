import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { binaryCacheDir, parseVersions } from "../cluster/binaries.ts";
import { CHART_PATH } from "./helm.ts";

// kube-score, built from its Go module by test/cluster/build-binaries.sh into the same cache as the
// control plane's binaries, and the checks the chart's README documents as ignored.

/** The Kubernetes version kube-score judges against: the oldest the chart supports (Chart.yaml). */
export const KUBE_SCORE_KUBERNETES_VERSION = "v1.30";

export function locateKubeScore(env: NodeJS.ProcessEnv = process.env): string {
  const versions = parseVersions(readFileSync(new URL("../cluster/versions.env", import.meta.url), "utf8"));
  const version = versions.KUBE_SCORE_VERSION;
  if (!version) {
    throw new Error(
      "test/cluster/versions.env has no KUBE_SCORE_VERSION: kube-score is built with the control plane " +
        "(KUBE_SCORE_VERSION=v1.20.0, github.com/zegl/kube-score/cmd/kube-score)",
    );
  }
  const path = join(binaryCacheDir(env), `kube-score-${version}`, "kube-score");
  if (!existsSync(path))
    throw new Error(`kube-score is not built (missing ${path}): run \`make cluster-binaries\``);
  return path;
}

export interface KubeScoreFinding {
  /** kind/apiVersion/namespace/name, as kube-score names objects. */
  object: string;
  check: string;
  grade: "critical" | "warning" | "almost-ok";
  comments: string[];
}

interface KubeScoreObject {
  object_name: string;
  checks: {
    check: { id: string };
    grade: number;
    skipped: boolean;
    comments: { summary: string; description?: string; path?: string }[] | null;
  }[];
}

const GRADES: Record<number, KubeScoreFinding["grade"]> = { 1: "critical", 5: "warning", 7: "almost-ok" };

function run(
  args: string[],
  input: string,
): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((resolve) => {
    const child = execFile(
      locateKubeScore(),
      args,
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ stdout, stderr, error }),
    );
    child.stdin?.end(input);
  });
}

/** The ids of kube-score's optional checks (`kube-score list`: id,target,comment,default|optional). */
async function optionalChecks(): Promise<string[]> {
  const { stdout, error } = await run(["list"], "");
  if (error) throw new Error(`kube-score list failed: ${error.message}`);
  return stdout
    .split("\n")
    .filter((line) => line.endsWith(",optional"))
    .map((line) => line.slice(0, line.indexOf(",")));
}

/**
 * Scores manifests with every optional check enabled and returns what is not all right: grade critical,
 * warning or almost-ok, skipped checks left out. `checked` counts the (object, check) pairs scored.
 * (kube-score refuses --all-default-optional with --ignore-test, so the optional checks are named.)
 */
export async function kubeScore(
  yaml: string,
  ignore: string[] = [],
): Promise<{ findings: KubeScoreFinding[]; checked: number; objects: string[] }> {
  const optional = await optionalChecks();
  const args = [
    "score",
    "--output-format=json",
    `--kubernetes-version=${KUBE_SCORE_KUBERNETES_VERSION}`,
    ...optional.filter((check) => !ignore.includes(check)).map((check) => `--enable-optional-test=${check}`),
    ...ignore.map((check) => `--ignore-test=${check}`),
    "-",
  ];
  const { stdout, stderr, error } = await run(args, yaml);
  // kube-score exits 1 when it has findings; its JSON report is complete either way.
  let report: KubeScoreObject[];
  try {
    report = JSON.parse(stdout) as KubeScoreObject[];
  } catch {
    throw new Error(`kube-score ${args.join(" ")} failed (${error?.message ?? "no JSON"}): ${stderr.trim()}`);
  }
  const findings: KubeScoreFinding[] = [];
  let checked = 0;
  for (const object of report) {
    for (const result of object.checks) {
      if (result.skipped) continue;
      checked += 1;
      const grade = GRADES[result.grade];
      if (grade === undefined) continue;
      findings.push({
        object: object.object_name,
        check: result.check.id,
        grade,
        comments: (result.comments ?? []).map((c) => `${c.path ? `${c.path}: ` : ""}${c.summary}`),
      });
    }
  }
  return { findings, checked, objects: report.map((object) => object.object_name) };
}

export interface DocumentedIgnore {
  check: string;
  reason: string;
}

/** The table between the kube-score-ignores markers of the chart's README: each ignored check and why. */
export function documentedIgnores(
  readme = readFileSync(join(CHART_PATH, "README.md"), "utf8"),
): DocumentedIgnore[] {
  const section = /<!-- kube-score-ignores:start -->([\s\S]*?)<!-- kube-score-ignores:end -->/.exec(
    readme,
  )?.[1];
  if (section === undefined) throw new Error("the chart's README has no kube-score-ignores section");
  return section
    .split("\n")
    .map((line) => /^\|\s*`([a-z0-9-]+)`\s*\|\s*(.+?)\s*\|\s*$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ check: match[1] as string, reason: match[2] as string }));
}
