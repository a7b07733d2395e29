import { dump } from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KillSwitchSpec } from "../../api/v1alpha1/killswitch.ts";
import { TradingBotSpec } from "../../api/v1alpha1/tradingbot.ts";
import { adminKubeConfig, createTestNamespace, type TestNamespace } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import { installCrds, type KubeObject, loadSamples, samplesDir } from "./fixtures.ts";

const BOT_SAMPLES = [
  "tradingbot-grid-paper.yaml",
  "tradingbot-dca-paper.yaml",
  "tradingbot-smacross-testnet.yaml",
];
const SECRET_SAMPLES = [
  "secret-paper-exchange-credentials.yaml",
  "secret-testnet-exchange-credentials.yaml",
  "secret-database.yaml",
];

async function getJson(args: string[]): Promise<KubeObject> {
  return JSON.parse((await kubectl(["get", ...args, "-o", "json"])).stdout) as KubeObject;
}

describe("the samples in config/samples", () => {
  let namespace: TestNamespace;
  const samples = loadSamples();

  beforeAll(async () => {
    await installCrds();
    namespace = await createTestNamespace(adminKubeConfig(), "api-samples");
    const files = [...SECRET_SAMPLES, ...BOT_SAMPLES].flatMap((file) => ["-f", `${samplesDir}${file}`]);
    await kubectl(["apply", "-n", namespace.name, ...files]);
  });
  afterAll(() => namespace?.cleanup());

  it.each(BOT_SAMPLES)(
    "%s reads back with the API server's defaults, the same defaults zod fills in",
    async (file) => {
      const written = samples.get(file);
      const stored = await getJson(["tradingbot", written?.metadata.name ?? "", "-n", namespace.name]);
      expect(stored.spec).toEqual(TradingBotSpec.parse(written?.spec));
    },
  );

  it("fills in nested defaults inside the empty objects that stand for left-out blocks", async () => {
    const stored = await getJson(["tradingbot", "dca-eth-paper", "-n", namespace.name]);
    expect(samples.get("tradingbot-dca-paper.yaml")?.spec).not.toHaveProperty("killSwitch");
    expect(stored.spec).toMatchObject({
      killSwitch: { engaged: false, onEngage: "CancelOrders" },
      pod: { terminationGracePeriodSeconds: 30 },
      risk: { maxOpenOrders: 20, maxOrdersPerMinute: 30, priceBandPct: "5" },
      database: { retentionDays: 30 },
    });
  });

  it("keeps the values the sample sets over the defaults", async () => {
    const stored = await getJson(["tradingbot", "sma-btc-testnet", "-n", namespace.name]);
    expect(stored.spec).toMatchObject({
      strategy: { type: "smaCross", smaCross: { timeframe: "15m" } },
      killSwitch: { onEngage: "Flatten" },
      pod: { terminationGracePeriodSeconds: 60 },
      risk: { priceBandPct: "1" },
    });
  });

  it("stores the Secrets the bots refer to, with the keys the runtime reads", async () => {
    const exchange = await getJson(["secret", "paper-exchange-credentials", "-n", namespace.name]);
    const database = await getJson(["secret", "trading-database", "-n", namespace.name]);
    expect(Object.keys(exchange.data as object).sort()).toEqual(["apiKey", "secret"]);
    expect(Object.keys(database.data as object).sort()).toEqual(
      ["database", "host", "password", "port", "sslmode", "user"].sort(),
    );
  });

  it("applies the KillSwitch sample, which halts one namespace, and reads it back", async () => {
    // Cluster-scoped and engaged: applied under a name of this suite and aimed at this suite's namespace, so
    // that no bot outside the test (even on a shared cluster) is ever selected.
    const written = samples.get("killswitch-namespace.yaml") as KubeObject;
    const name = `${written.metadata.name}-${namespace.name}`;
    const adjusted = {
      ...written,
      metadata: { ...written.metadata, name },
      spec: { ...written.spec, namespaces: [namespace.name] },
    };
    await kubectl(["apply", "-f", "-"], { input: dump(adjusted) });
    try {
      const stored = await getJson(["killswitch", name]);
      expect(stored.metadata.namespace).toBeUndefined();
      expect(stored.spec).toEqual(KillSwitchSpec.parse(adjusted.spec));
      expect(stored.spec).toMatchObject({ engaged: true, namespaces: [namespace.name] });
    } finally {
      await kubectl(["delete", "killswitch", name, "--ignore-not-found"]);
    }
  });

  it("defaults a KillSwitch without namespaces to an empty list, which selects every namespace", async () => {
    const name = `defaults-${namespace.name}`;
    // Not engaged, so it halts nothing while it exists.
    const object = {
      apiVersion: "trading.botops.dev/v1alpha1",
      kind: "KillSwitch",
      metadata: { name },
      spec: { engaged: false },
    };
    await kubectl(["apply", "-f", "-"], { input: dump(object) });
    try {
      expect((await getJson(["killswitch", name])).spec).toEqual({ engaged: false, namespaces: [] });
    } finally {
      await kubectl(["delete", "killswitch", name, "--ignore-not-found"]);
    }
  });
});
