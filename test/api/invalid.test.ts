import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KillSwitchSpec } from "../../api/v1alpha1/killswitch.ts";
import { TradingBotSpec } from "../../api/v1alpha1/tradingbot.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { gridBotSpec, installCrds, type KubeObject, killSwitch, tradingBot } from "./fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: the cases write deliberately wrong values into nested fields.
type Spec = Record<string, any>;

interface InvalidCase {
  name: string;
  kind: "TradingBot" | "KillSwitch";
  /** Turns a valid spec into the invalid one. */
  change: (spec: Spec) => void;
  /** Every string must appear in kubectl's error: the field's path and what is wrong with it. */
  expected: string[];
}

const bot = (name: string, change: (spec: Spec) => void, expected: string[]): InvalidCase => ({
  name,
  kind: "TradingBot",
  change,
  expected,
});
const fleetSwitch = (name: string, change: (spec: Spec) => void, expected: string[]): InvalidCase => ({
  name,
  kind: "KillSwitch",
  change,
  expected,
});

const CASES: InvalidCase[] = [
  // Types
  bot("grid levels as a string", (s) => (s.strategy.grid.levels = "ten"), [
    "spec.strategy.grid.levels",
    "must be of type integer",
  ]),
  bot("a price as a number instead of a decimal string", (s) => (s.strategy.grid.lowerPrice = 60000), [
    "spec.strategy.grid.lowerPrice",
    "must be of type string",
  ]),
  bot("the kill switch engaged as a string", (s) => (s.killSwitch.engaged = "yes"), [
    "spec.killSwitch.engaged",
    "must be of type boolean",
  ]),
  bot("a dead man's switch shorter than a minute", (s) => (s.killSwitch.haltIfUnsupervisedFor = "30s"), [
    "spec.killSwitch.haltIfUnsupervisedFor must be at least 60s",
  ]),
  bot("a fractional number of open orders", (s) => (s.risk.maxOpenOrders = 2.5), [
    "spec.risk.maxOpenOrders",
    "must be of type integer",
  ]),
  // Decimals
  bot("a decimal in exponent notation", (s) => (s.risk.maxOrderQuote = "1e2"), [
    "spec.risk.maxOrderQuote",
    "should match",
  ]),
  bot("a negative decimal", (s) => (s.risk.maxPositionQuote = "-1000"), [
    "spec.risk.maxPositionQuote",
    "should match",
  ]),
  bot("a decimal with a comma", (s) => (s.strategy.grid.quotePerOrder = "50,5"), [
    "spec.strategy.grid.quotePerOrder",
    "should match",
  ]),
  bot("a zero loss limit", (s) => (s.risk.maxDailyLossQuote = "0"), [
    "spec.risk.maxDailyLossQuote",
    "must be greater than zero",
  ]),
  bot("a drawdown above 100 percent", (s) => (s.risk.maxDrawdownPct = "150"), [
    "spec.risk.maxDrawdownPct",
    "must be greater than 0 and at most 100",
  ]),
  // Strategy union
  bot("an unknown strategy type", (s) => (s.strategy.type = "scalping"), [
    "spec.strategy.type",
    'Unsupported value: "scalping"',
    '"grid", "dca", "smaCross"',
  ]),
  bot("a strategy type without its parameter block", (s) => (s.strategy.type = "dca"), [
    "spec.strategy.dca: Required value: spec.strategy.dca is required when spec.strategy.type is dca",
    "spec.strategy.grid: Forbidden: spec.strategy.grid is only allowed when spec.strategy.type is grid",
  ]),
  bot(
    "two strategy parameter blocks",
    (s) => (s.strategy.smaCross = { fastPeriod: 5, slowPeriod: 20, quotePerOrder: "10" }),
    [
      "spec.strategy.smaCross: Forbidden: spec.strategy.smaCross is only allowed when spec.strategy.type is smaCross",
    ],
  ),
  bot(
    "crossed grid bounds",
    (s) => Object.assign(s.strategy.grid, { lowerPrice: "70000", upperPrice: "60000" }),
    ["spec.strategy.grid.upperPrice", "lowerPrice must be below upperPrice"],
  ),
  bot("a grid of one level", (s) => (s.strategy.grid.levels = 1), [
    "spec.strategy.grid.levels",
    "should be greater than or equal to 2",
  ]),
  bot(
    "a fast average slower than the slow one",
    (s) =>
      (s.strategy = { type: "smaCross", smaCross: { fastPeriod: 50, slowPeriod: 20, quotePerOrder: "10" } }),
    ["spec.strategy.smaCross.fastPeriod", "fastPeriod must be smaller than slowPeriod"],
  ),
  bot(
    "an unknown candle timeframe",
    (s) =>
      (s.strategy = {
        type: "smaCross",
        smaCross: { fastPeriod: 5, slowPeriod: 20, timeframe: "7m", quotePerOrder: "10" },
      }),
    ["spec.strategy.smaCross.timeframe", 'Unsupported value: "7m"'],
  ),
  bot(
    "a DCA interval in weeks",
    (s) =>
      (s.strategy = {
        type: "dca",
        dca: { interval: "2w", quotePerBuy: "10", maxBuys: 5, takeProfitPct: "3" },
      }),
    ["spec.strategy.dca.interval", "should match"],
  ),
  // Risk
  bot("negative open orders", (s) => (s.risk.maxOpenOrders = -1), [
    "spec.risk.maxOpenOrders",
    "should be greater than or equal to 1",
  ]),
  bot("an order limit above the position limit", (s) => (s.risk.maxOrderQuote = "5000"), [
    "spec.risk.maxOrderQuote",
    "maxOrderQuote must not exceed maxPositionQuote",
  ]),
  bot("an order size above the order limit", (s) => (s.strategy.grid.quotePerOrder = "500"), [
    "spec.risk.maxOrderQuote",
    "the strategy's order size exceeds spec.risk.maxOrderQuote",
  ]),
  // Exchange
  bot(
    "a live bot without a credentials Secret",
    (s) => {
      s.exchange.mode = "live";
      delete s.exchange.endpoint;
      delete s.exchange.credentialsSecretRef;
    },
    ["spec.exchange.credentialsSecretRef: Required value"],
  ),
  bot("a paper bot without an endpoint", (s) => delete s.exchange.endpoint, [
    "spec.exchange.endpoint: Required value: spec.exchange.endpoint is required in paper mode",
  ]),
  bot(
    "a live bot with a plain-http endpoint",
    (s) => Object.assign(s.exchange, { mode: "live", endpoint: "http://proxy.internal:8080" }),
    ["spec.exchange.endpoint", "must use https:// in live mode"],
  ),
  bot("an endpoint with credentials in it", (s) => (s.exchange.endpoint = "http://user:pw@sim:8080"), [
    "spec.exchange.endpoint",
    "should match",
  ]),
  bot("an unknown trading mode", (s) => (s.exchange.mode = "demo"), [
    "spec.exchange.mode",
    'Unsupported value: "demo"',
  ]),
  bot("an exchange v1alpha1 does not support", (s) => (s.exchange.name = "kraken"), [
    "spec.exchange.name",
    'Unsupported value: "kraken"',
  ]),
  bot(
    "a Secret name that is not a DNS name",
    (s) => (s.exchange.credentialsSecretRef.name = "Binance_Keys"),
    ["spec.exchange.credentialsSecretRef.name", "should match"],
  ),
  bot("a symbol in lower case", (s) => (s.symbol = "btc/usdt"), ["spec.symbol", "should match"]),
  bot("no symbol", (s) => delete s.symbol, ["spec.symbol: Required value"]),
  bot("an unknown on-engage action", (s) => (s.killSwitch.onEngage = "Panic"), [
    "spec.killSwitch.onEngage",
    'Unsupported value: "Panic"',
  ]),
  // Unknown fields, rejected by kubectl's default strict field validation
  bot("a misspelt risk limit", (s) => (s.risk.maxLoss = "10"), ['unknown field "spec.risk.maxLoss"']),
  bot("an unknown grid parameter", (s) => (s.strategy.grid.spacing = "arithmetic"), [
    'unknown field "spec.strategy.grid.spacing"',
  ]),
  // Pod and network
  bot("a grace period too short to cancel orders", (s) => (s.pod = { terminationGracePeriodSeconds: 5 }), [
    "spec.pod.terminationGracePeriodSeconds",
    "should be greater than or equal to 10",
  ]),
  bot(
    "a toleration with a value and operator Exists",
    (s) => (s.pod = { tolerations: [{ key: "k", operator: "Exists", value: "v" }] }),
    ["spec.pod.tolerations[0].value", "value must be unset when operator is Exists"],
  ),
  bot("a node selector with an invalid label key", (s) => (s.pod = { nodeSelector: { "has space": "x" } }), [
    "spec.pod.nodeSelector",
    "every key must be a label key",
  ]),
  bot(
    "an egress peer with both a CIDR and a pod selector",
    (s) =>
      (s.network = {
        exchangeEgress: [{ cidr: "10.0.0.0/8", podSelector: { matchLabels: { app: "sim" } } }],
      }),
    ["spec.network.exchangeEgress[0]", "set either cidr or namespaceSelector/podSelector"],
  ),
  // KillSwitch
  fleetSwitch("a KillSwitch without engaged", (s) => delete s.engaged, ["spec.engaged: Required value"]),
  fleetSwitch("a KillSwitch naming an invalid namespace", (s) => (s.namespaces = ["Trading"]), [
    "spec.namespaces[0]",
    "should match",
  ]),
  fleetSwitch(
    "a KillSwitch naming a namespace twice",
    (s) => (s.namespaces = [s.namespaces[0], s.namespaces[0]]),
    ["spec.namespaces[1]: Duplicate value"],
  ),
  fleetSwitch(
    "a KillSwitch selector requirement In without values",
    (s) => (s.selector = { matchExpressions: [{ key: "team", operator: "In" }] }),
    ["spec.selector.matchExpressions[0].values", "values must be non-empty for In and NotIn"],
  ),
  fleetSwitch("a KillSwitch with a misspelt field", (s) => (s.namespace = "trading"), [
    'unknown field "spec.namespace"',
  ]),
  fleetSwitch("a KillSwitch reason longer than 256 characters", (s) => (s.reason = "x".repeat(300)), [
    "spec.reason",
    "Too long",
  ]),
];

describe("invalid TradingBots and KillSwitches", () => {
  let namespace: TestNamespace;

  beforeAll(async () => {
    await installCrds();
    namespace = await createTestNamespace(adminKubeConfig(), "api-invalid");
  });
  afterAll(async () => {
    // Nothing here should have been stored; a KillSwitch that was is removed before it can matter.
    await kubectl([
      "delete",
      "killswitch",
      "-l",
      `test.botops.dev/namespace=${namespace?.name}`,
      "--ignore-not-found",
    ]);
    await namespace?.cleanup();
  });

  it("has more than 25 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(25);
  });

  it.each(CASES.map((c, index) => ({ ...c, index })))(
    "kubectl apply refuses $kind with $name, naming the field",
    async ({ kind, change, expected, index }) => {
      let object: KubeObject;
      if (kind === "TradingBot") {
        const spec = gridBotSpec();
        change(spec);
        expect(TradingBotSpec.safeParse(spec).success, "zod refuses it too").toBe(false);
        object = tradingBot(`invalid-${index}`, spec);
      } else {
        // Aimed at this suite's namespace only, in case the API server ever let one through.
        const spec: Spec = { engaged: true, reason: "test", namespaces: [namespace.name] };
        change(spec);
        expect(KillSwitchSpec.safeParse(spec).success, "zod refuses it too").toBe(false);
        object = killSwitch(`invalid-${index}-${namespace.name}`, spec, {
          "test.botops.dev/namespace": namespace.name,
        });
      }
      const result = await kubectl(["apply", "-n", namespace.name, "-f", "-"], {
        input: dump(object),
        allowFailure: true,
      });
      expect(result.exitCode, result.stdout).not.toBe(0);
      for (const text of expected) expect(result.stderr).toContain(text);
    },
  );

  it("refuses to change the symbol of an existing bot", async () => {
    const spec = gridBotSpec();
    await kubectl(["apply", "-n", namespace.name, "-f", "-"], {
      input: dump(tradingBot("immutable-symbol", spec)),
    });
    const changed = { ...spec, symbol: "ETH/USDT" };
    expect(TradingBotSpec.safeParse(changed).success, "a new bot with that symbol would be fine").toBe(true);
    const result = await kubectl(["apply", "-n", namespace.name, "-f", "-"], {
      input: dump(tradingBot("immutable-symbol", changed)),
      allowFailure: true,
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain("spec.symbol");
    expect(result.stderr).toContain("spec.symbol is immutable: create a new TradingBot to change it");
    const stored = await kubectl([
      "get",
      "tb",
      "immutable-symbol",
      "-n",
      namespace.name,
      "-o",
      "jsonpath={.spec.symbol}",
    ]);
    expect(stored.stdout).toBe("BTC/USDT");
  });
});
