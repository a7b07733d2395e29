import { describe, expect, it } from "vitest";
import { z } from "zod";
import { buildCrd, crdFileName, printerColumnProblems, type ResourceDefinition } from "./crd.ts";
import { KILL_SWITCH_RESOURCE, TRADING_BOT_RESOURCE } from "./resources.ts";

describe("buildCrd", () => {
  const tradingBots = buildCrd(TRADING_BOT_RESOURCE);
  const killSwitches = buildCrd(KILL_SWITCH_RESOURCE);
  const botVersion = tradingBots.spec.versions[0];
  const botSchema = botVersion?.schema.openAPIV3Schema;

  it("names the CRDs and files after plural and group", () => {
    expect(tradingBots.metadata.name).toBe("tradingbots.trading.botops.dev");
    expect(killSwitches.metadata.name).toBe("killswitches.trading.botops.dev");
    expect(crdFileName(TRADING_BOT_RESOURCE)).toBe("crds/trading.botops.dev_tradingbots.yaml");
    expect(crdFileName(KILL_SWITCH_RESOURCE)).toBe("crds/trading.botops.dev_killswitches.yaml");
  });

  it("declares short names, the trading category and the scope of each kind", () => {
    expect(tradingBots.spec.names).toMatchObject({
      shortNames: ["tb"],
      categories: ["trading"],
      listKind: "TradingBotList",
    });
    expect(killSwitches.spec.names).toMatchObject({ shortNames: ["ks"], categories: ["trading"] });
    expect(tradingBots.spec.scope).toBe("Namespaced");
    expect(killSwitches.spec.scope).toBe("Cluster");
  });

  it("serves one stored version with the status subresource", () => {
    expect(tradingBots.spec.versions).toHaveLength(1);
    expect(botVersion).toMatchObject({
      name: "v1alpha1",
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  it("leaves metadata to the API server and requires a spec", () => {
    expect(botSchema?.properties?.metadata).toEqual({ type: "object" });
    expect(botSchema?.required).toEqual(["spec"]);
    expect(botSchema?.properties?.status?.properties?.phase?.enum).toContain("Halted");
  });

  it("shows phase, mode, symbol, strategy, halted, who halted, orders, PnL and age for TradingBots", () => {
    const columns = botVersion?.additionalPrinterColumns.filter((column) => !column.priority);
    expect(columns?.map((column) => column.name)).toEqual([
      "Phase",
      "Mode",
      "Symbol",
      "Strategy",
      "Halted",
      "Halted By",
      "Orders",
      "PnL",
      "Age",
    ]);
  });

  it("shows engaged, halted and stopping bots and age for KillSwitches", () => {
    const columns = killSwitches.spec.versions[0]?.additionalPrinterColumns.filter(
      (column) => !column.priority,
    );
    expect(columns?.map((column) => [column.name, column.jsonPath])).toEqual([
      ["Engaged", ".spec.engaged"],
      ["Halted Bots", ".status.haltedBots"],
      ["Stopping", ".status.stoppingBots"],
      ["Age", ".metadata.creationTimestamp"],
    ]);
  });

  it("fails with the path of every undocumented field", () => {
    const undocumented: ResourceDefinition = {
      ...KILL_SWITCH_RESOURCE,
      spec: z.strictObject({ engaged: z.boolean() }).describe("Spec."),
      printerColumns: [],
    };
    expect(() => buildCrd(undocumented)).toThrow(
      /the schema of spec cannot become a CRD:\n {2}spec\.engaged: no description/,
    );
  });
});

describe("printerColumnProblems", () => {
  const root = buildCrd(TRADING_BOT_RESOURCE).spec.versions[0]?.schema.openAPIV3Schema ?? {};

  it("accepts condition filters and nested status fields", () => {
    expect(
      printerColumnProblems(root, [
        {
          name: "Halted",
          type: "string",
          jsonPath: '.status.conditions[?(@.type=="Halted")].status',
          description: "h",
        },
        { name: "Orders", type: "integer", jsonPath: ".status.runtime.openOrders", description: "o" },
      ]),
    ).toEqual([]);
  });

  it("reports columns that point nowhere or at a field of another type", () => {
    expect(
      printerColumnProblems(root, [
        { name: "Typo", type: "string", jsonPath: ".status.phaze", description: "t" },
        { name: "Orders", type: "string", jsonPath: ".status.runtime.openOrders", description: "o" },
      ]),
    ).toEqual([
      "printer column Typo: .status.phaze is not a field of the schema",
      "printer column Orders: .status.runtime.openOrders is a integer, not a string",
    ]);
  });
});
