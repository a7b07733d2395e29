import { execFile } from "node:child_process";
import { clusterContext } from "./context.ts";

export interface KubectlResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs the kubectl built with the control plane (the one the provided context names). Rejects on a non-zero
 * exit, quoting the command and stderr, unless `allowFailure` is set.
 */
export function kubectl(
  args: string[],
  options: { kubeconfig?: string; input?: string; allowFailure?: boolean } = {},
): Promise<KubectlResult> {
  const context = clusterContext();
  const kubeconfig = options.kubeconfig ?? context.kubeconfigPath;
  return new Promise((resolve, reject) => {
    const child = execFile(
      context.kubectlPath,
      [`--kubeconfig=${kubeconfig}`, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        if (exitCode !== 0 && !options.allowFailure) {
          reject(new Error(`kubectl ${args.join(" ")} exited with ${exitCode}: ${stderr.trim()}`));
          return;
        }
        resolve({ stdout, stderr, exitCode });
      },
    );
    child.stdin?.end(options.input ?? "");
  });
}
