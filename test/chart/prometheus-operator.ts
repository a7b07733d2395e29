import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { binaryCacheDir, parseVersions } from "../cluster/binaries.ts";

// The Prometheus Operator's CRDs (ServiceMonitor, PodMonitor, PrometheusRule), copied from its Go module
// by test/cluster/build-binaries.sh into the binary cache: the chart's monitoring objects are installed
// against their real schemas.

export function prometheusOperatorCrdFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const versions = parseVersions(readFileSync(new URL("../cluster/versions.env", import.meta.url), "utf8"));
  const version = versions.PROMETHEUS_OPERATOR_VERSION;
  if (!version) {
    throw new Error(
      "test/cluster/versions.env has no PROMETHEUS_OPERATOR_VERSION: the Prometheus Operator's CRDs are copied " +
        "from github.com/prometheus-operator/prometheus-operator with the control plane's binaries",
    );
  }
  const dir = join(binaryCacheDir(env), `prometheus-operator-crds-${version}`);
  if (!existsSync(dir))
    throw new Error(`the Prometheus Operator's CRDs are missing (${dir}): run \`make cluster-binaries\``);
  return readdirSync(dir)
    .filter((file) => file.endsWith(".yaml"))
    .map((file) => join(dir, file));
}
