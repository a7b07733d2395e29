import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { KillSwitchSpec } from "../../api/v1alpha1/killswitch.ts";
import { TradingBotSpec } from "../../api/v1alpha1/tradingbot.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { dryRunCreate, installCrds, type KubeObject, killSwitch, tradingBot } from "./fixtures.ts";
import {
  mutated,
  SAMPLE_STRATEGIES,
  type SpecObject,
  validBotSpec,
  validKillSwitchSpec,
} from "./spec-arbitraries.ts";

const BOT_CASES = 1000;
const KILL_SWITCH_CASES = 400;

interface Tally {
  cases: number;
  accepted: number;
  rejected: number;
}

/**
 * For every generated spec, zod and the API server (create, dryRun=All, fieldValidation=Strict) reach the
 * same verdict; when both accept, the API server's defaults are the ones zod fills in.
 */
async function assertAgreement(
  schema: z.ZodType,
  specs: fc.Arbitrary<SpecObject>,
  toObject: (spec: SpecObject) => KubeObject,
  create: (object: KubeObject) => ReturnType<typeof dryRunCreate>,
  numRuns: number,
): Promise<Tally> {
  const tally: Tally = { cases: 0, accepted: 0, rejected: 0 };
  await fc.assert(
    fc.asyncProperty(specs, async (spec) => {
      const parsed = schema.safeParse(spec);
      const verdict = await create(toObject(spec));
      tally.cases++;
      if (verdict.accepted) tally.accepted++;
      else tally.rejected++;
      const server = verdict.accepted ? "accepted" : `rejected: ${verdict.message}`;
      const zod = parsed.success
        ? "accepted"
        : `rejected: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
      expect(verdict.accepted, `API server ${server}\nzod ${zod}`).toBe(parsed.success);
      if (verdict.accepted && parsed.success) expect(verdict.object.spec).toEqual(parsed.data);
    }),
    { numRuns },
  );
  return tally;
}

describe("zod and the API server agree on every spec", () => {
  const kc = adminKubeConfig();
  let namespace: TestNamespace;

  beforeAll(async () => {
    await installCrds();
    namespace = await createTestNamespace(kc, "api-agreement");
  });
  afterAll(() => namespace?.cleanup());

  it(`on ${BOT_CASES} generated TradingBot specs, valid ones and mutations of valid ones`, async () => {
    const specs = fc.oneof(
      { arbitrary: validBotSpec, weight: 1 },
      { arbitrary: mutated(validBotSpec, SAMPLE_STRATEGIES), weight: 2 },
    );
    const tally = await assertAgreement(
      TradingBotSpec,
      specs,
      (spec) => tradingBot("agreement", spec),
      (object) => dryRunCreate(kc, namespace.name, object),
      BOT_CASES,
    );
    console.log(`TradingBot agreement: ${JSON.stringify(tally)}`);
    expect(tally.cases).toBe(BOT_CASES);
    // Both verdicts are well represented, so agreement is not agreement on "always reject".
    expect(tally.accepted).toBeGreaterThan(BOT_CASES / 5);
    expect(tally.rejected).toBeGreaterThan(BOT_CASES / 5);
  });

  it(`on ${KILL_SWITCH_CASES} generated KillSwitch specs, valid ones and mutations of valid ones`, async () => {
    const specs = fc.oneof(validKillSwitchSpec, mutated(validKillSwitchSpec, SAMPLE_STRATEGIES));
    const tally = await assertAgreement(
      KillSwitchSpec,
      specs,
      // Dry runs only: nothing is stored, so an engaged switch halts nothing.
      (spec) => killSwitch(`agreement-${namespace.name}`, spec),
      (object) => dryRunCreate(kc, namespace.name, object),
      KILL_SWITCH_CASES,
    );
    console.log(`KillSwitch agreement: ${JSON.stringify(tally)}`);
    expect(tally.cases).toBe(KILL_SWITCH_CASES);
    expect(tally.accepted).toBeGreaterThan(KILL_SWITCH_CASES / 5);
    expect(tally.rejected).toBeGreaterThan(KILL_SWITCH_CASES / 5);
  });
});
