import { describe, expect, it } from "vitest";
import { loadSample, SAMPLE_DCA_BOT, SAMPLE_GRID_BOT, SAMPLE_KILL_SWITCH } from "../test/e2e/environment.ts";
import { botKey, demoFleet, demoFleetSwitch, FEATURED_BOT, sampleKillSwitchReason } from "./fleet.ts";
import { parseDemoArgs, SAMPLE_KILL_SWITCH_NAME, SAMPLE_KILL_SWITCH_NAMESPACE } from "./options.ts";

describe("the demo's fleet", () => {
  const fleet = demoFleet({ trading: "t", research: "r" });

  it("puts three bots where the fleet halt applies and two where it does not, grids and DCAs in both", () => {
    expect(fleet.filter((bot) => bot.namespace === "t")).toHaveLength(3);
    expect(fleet.filter((bot) => bot.namespace === "r")).toHaveLength(2);
    for (const namespace of ["t", "r"]) {
      const samples = new Set(fleet.filter((bot) => bot.namespace === namespace).map((bot) => bot.sample));
      expect(samples).toEqual(new Set([SAMPLE_GRID_BOT, SAMPLE_DCA_BOT]));
    }
  });

  it("names each bot once per namespace, the featured grid bot in the namespace the fleet halt selects", () => {
    expect(new Set(fleet.map(botKey)).size).toBe(fleet.length);
    expect(fleet).toContainEqual({ namespace: "t", name: FEATURED_BOT, sample: SAMPLE_GRID_BOT });
  });
});

describe("the demo's fleet halt", () => {
  it("is, without a prefix, exactly what config/samples/killswitch-namespace.yaml applies", () => {
    const sample = loadSample(SAMPLE_KILL_SWITCH) as {
      metadata: { name: string };
      spec: { namespaces: string[]; reason: string };
    };
    expect(sample.metadata.name).toBe(SAMPLE_KILL_SWITCH_NAME);
    expect(sample.spec.namespaces).toEqual([SAMPLE_KILL_SWITCH_NAMESPACE]);
    const args = parseDemoArgs([], {});
    if (args.help) throw new Error("expected options");
    expect(demoFleetSwitch(args.options, sampleKillSwitchReason())).toEqual({
      name: sample.metadata.name,
      namespace: sample.spec.namespaces[0],
      reason: sample.spec.reason,
    });
  });

  it("selects the prefixed trading namespace under a prefix", () => {
    const args = parseDemoArgs(["--prefix", "p"], {});
    if (args.help) throw new Error("expected options");
    expect(demoFleetSwitch(args.options, "why")).toEqual({
      name: "p-halt-trading",
      namespace: "p-trading",
      reason: "why",
    });
  });
});
