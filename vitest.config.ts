import { defineConfig } from "vitest/config";

// Two projects: `unit` needs nothing but Node; `integration` gets a real control plane and a real
// PostgreSQL from the global setup, started once per run and shared by every suite (each suite isolates
// itself by namespace and database name).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["{api,operator,bot-runtime,exchange-sim}/**/*.test.ts"],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/global-setup.ts"],
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
