import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { waitFor } from "../support/wait-for.ts";
import { gridBotSpec, installCrds, killSwitch, tradingBot } from "./fixtures.ts";

/** The header of a `kubectl get` table, as column names. */
function columnsOf(table: string): string[] {
  return (table.split("\n")[0] ?? "").trim().split(/\s{2,}/);
}

describe("what kubectl shows about the API", () => {
  let namespace: TestNamespace;
  let switchName: string;

  beforeAll(async () => {
    await installCrds();
    namespace = await createTestNamespace(adminKubeConfig(), "api-discovery");
    switchName = `idle-${namespace.name}`;
    await kubectl(["apply", "-n", namespace.name, "-f", "-"], {
      input: dump(tradingBot("grid-btc", gridBotSpec())),
    });
    // Not engaged and aimed at this suite's namespace only: it halts nothing.
    await kubectl(["apply", "-f", "-"], {
      input: dump(killSwitch(switchName, { engaged: false, reason: "drill", namespaces: [namespace.name] })),
    });
    // What the operator would report, written through the status subresource.
    const status = {
      status: {
        phase: "Running",
        conditions: [
          {
            type: "Halted",
            status: "False",
            reason: "NotHalted",
            message: "",
            lastTransitionTime: "2025-01-01T00:00:00Z",
          },
        ],
        runtime: { openOrders: 7, realizedPnl: "-12.5" },
      },
    };
    await kubectl([
      "patch",
      "tradingbot",
      "grid-btc",
      "-n",
      namespace.name,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(status),
    ]);
  });
  afterAll(async () => {
    await kubectl(["delete", "killswitch", switchName, "--ignore-not-found"]);
    await namespace?.cleanup();
  });

  it("kubectl get tb shows phase, mode, symbol, strategy, halted, who halted, orders, PnL and age", async () => {
    const { stdout } = await kubectl(["get", "tb", "-n", namespace.name]);
    expect(columnsOf(stdout)).toEqual([
      "NAME",
      "PHASE",
      "MODE",
      "SYMBOL",
      "STRATEGY",
      "HALTED",
      "HALTED BY",
      "ORDERS",
      "PNL",
      "AGE",
    ]);
    // Nobody halted it: the HALTED BY cell is blank, so splitting on spaces skips it.
    const row = (stdout.split("\n")[1] ?? "").trim().split(/\s+/);
    expect(row.slice(0, 8)).toEqual([
      "grid-btc",
      "Running",
      "paper",
      "BTC/USDT",
      "grid",
      "False",
      "7",
      "-12.5",
    ]);
  });

  it("kubectl get tb -o wide adds the halt source", async () => {
    const { stdout } = await kubectl(["get", "tb", "-n", namespace.name, "-o", "wide"]);
    expect(columnsOf(stdout)).toContain("HALT SOURCE");
  });

  it("kubectl get ks shows engaged, halted and stopping bots and age", async () => {
    const { stdout } = await kubectl(["get", "ks", switchName]);
    expect(columnsOf(stdout)).toEqual(["NAME", "ENGAGED", "HALTED BOTS", "STOPPING", "AGE"]);
    expect(stdout.split("\n")[1]).toMatch(new RegExp(`^${switchName}\\s+false\\s`));
  });

  it("kubectl get trading lists TradingBots and KillSwitches together", async () => {
    const { stdout } = await kubectl(["get", "trading", "-n", namespace.name, "-o", "name"]);
    const names = stdout.trim().split("\n");
    expect(names).toContain("tradingbot.trading.botops.dev/grid-btc");
    expect(names).toContain(`killswitch.trading.botops.dev/${switchName}`);
  });

  it("kubectl explain tradingbot.spec.risk teaches every risk limit", async () => {
    // The API server publishes a new CRD's OpenAPI a moment after it is Established.
    const { stdout } = await waitFor(
      async () => {
        const result = await kubectl(["explain", "tradingbot.spec.risk"], { allowFailure: true });
        return result.exitCode === 0 && result.stdout.includes("maxDrawdownPct") ? result : undefined;
      },
      { what: "kubectl explain tradingbot.spec.risk to know the CRD", timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const text = stdout.replace(/\s+/g, " ");
    expect(text).toContain("Limits checked before every order.");
    for (const field of [
      "maxOrderQuote",
      "maxPositionQuote",
      "maxDailyLossQuote",
      "maxDrawdownPct",
      "maxOpenOrders",
      "maxOrdersPerMinute",
      "priceBandPct",
    ]) {
      expect(text).toContain(field);
    }
    expect(text).toContain("Largest notional of one order, in the quote currency.");
    expect(text).toContain("Fall of equity from its peak, in percent, that halts the bot. The halt latches.");
  });

  it("kubectl explain reaches into the strategy union and the kill switch", async () => {
    const grid = await kubectl(["explain", "tradingbot.spec.strategy.grid.upperPrice"]);
    expect(grid.stdout.replace(/\s+/g, " ")).toContain("Highest price of the grid, in the quote currency.");
    const onEngage = await kubectl(["explain", "tradingbot.spec.killSwitch.onEngage"]);
    expect(onEngage.stdout.replace(/\s+/g, " ")).toContain("Flatten also sells the position at market");
    const namespaces = await kubectl(["explain", "killswitch.spec.namespaces"]);
    expect(namespaces.stdout.replace(/\s+/g, " ")).toContain("Empty selects every namespace.");
  });
});
