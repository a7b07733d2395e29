import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The kind end-to-end scenarios (run by test/e2e-kind/run.sh, which builds the cluster first): one file,
// its steps in order, with the patience of real kubelets pulling and starting containers.
export default defineConfig({
  root: fileURLToPath(new URL("../../", import.meta.url)),
  test: {
    include: ["test/e2e-kind/**/*.e2e.ts"],
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
