import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TOUR_ORDER, TOUR_STEPS } from "../../demo/narration.ts";
import { REPO_ROOT } from "../operator/harness.ts";
import { clusterContext, postgresContext } from "../support/context.ts";

// `make demo DEMO=tour` as CI runs it: the tour as a child process, on this run's control plane and
// PostgreSQL server, under a prefix of its own so that it shares them with the other suites.

const TOUR_TIMEOUT_MS = 540_000;
const prefix = `tour-${randomBytes(3).toString("hex")}`;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
});

function runTour(): Promise<{ code: number | null; output: string }> {
  const cluster = clusterContext();
  const postgres = postgresContext();
  child = spawn(process.execPath, [join(REPO_ROOT, "demo", "main.ts"), "--tour", "--prefix", prefix], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      USE_EXISTING_CLUSTER: "true",
      KUBECONFIG: cluster.kubeconfigPath,
      USE_EXISTING_POSTGRES: "true",
      PGHOST: postgres.host,
      PGPORT: String(postgres.port),
      PGUSER: postgres.user,
      PGPASSWORD: postgres.password,
      PGSSLROOTCERT: postgres.caCertPath,
    },
  });
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve) => child?.once("exit", (code) => resolve({ code, output })));
}

describe("make demo DEMO=tour", () => {
  it(
    "narrates every step (apply, trade, halt, audit, resume, halt from the console, halt with the operator stopped, fleet halt, release, teardown) and exits 0",
    async () => {
      const { code, output } = await runTour();
      expect(code, output).toBe(0);
      for (const [index, id] of TOUR_ORDER.entries()) {
        expect(output).toContain(`Step ${index + 1}/${TOUR_ORDER.length}: ${TOUR_STEPS[id].heading}`);
      }
      expect(output).not.toContain("FAILED");
      expect(output).toContain("The tour passed in");
      expect(output).not.toContain(postgresContext().password);
      // The console's one person: its password is printed once, and appears in no log of the demo's.
      const password = /^console: http:\/\/127\.0\.0\.1:\d+ {2}user: demo {2}password: (\S+)$/m.exec(
        output,
      )?.[1];
      expect(password, output).toBeDefined();
      expect(output.split(password as string)).toHaveLength(2);
      const consoleLog = readFileSync(join(REPO_ROOT, ".local", prefix, "console", "console.log"), "utf8");
      expect(consoleLog).toContain(`"route":"/api/login"`);
      expect(consoleLog).not.toContain(password as string);
      // Its state folder (component logs) is kept only when it fails.
      rmSync(join(REPO_ROOT, ".local", prefix), { recursive: true, force: true });
    },
    TOUR_TIMEOUT_MS,
  );
});
