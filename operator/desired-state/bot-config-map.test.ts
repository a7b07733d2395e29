import { readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { RuntimeConfig, TradingBot } from "../../api/v1alpha1/index.ts";
import { buildBotConfigMap, renderConfigDocument, renderRuntimeConfig } from "./bot-config-map.ts";
import { buildBotPod } from "./bot-pod.ts";

const sample = TradingBot.parse(
  load(readFileSync(new URL("../../config/samples/tradingbot-grid-paper.yaml", import.meta.url), "utf8")),
);
const bot = { name: "grid-btc-paper", namespace: "trading", uid: "5f0c6a51-1111-4e2b-9c1e-000000000001" };

describe("buildBotConfigMap", () => {
  it("renders the runtime config under config.json, valid for the runtime's own schema", () => {
    const configMap = buildBotConfigMap(bot, renderConfigDocument(bot, sample.spec));
    expect(configMap.metadata.name).toBe("grid-btc-paper-config");
    const config = RuntimeConfig.parse(JSON.parse(configMap.data?.["config.json"] ?? ""));
    expect(config.bot).toEqual(bot);
    expect(config.exchange).toEqual({
      name: "binance",
      mode: "paper",
      endpoint: "http://exchange-sim.trading.svc:8080",
    });
    expect(config.strategy).toEqual(sample.spec.strategy);
    expect(config.risk).toEqual(sample.spec.risk);
  });

  it("passes spec.killSwitch.onEngage as the runtime's onStop", () => {
    const spec = { ...sample.spec, killSwitch: { ...sample.spec.killSwitch, onEngage: "Flatten" as const } };
    const config = JSON.parse(renderConfigDocument(bot, spec).json);
    expect(config.onStop).toBe("Flatten");
  });

  it("holds no credentials: only the names of nothing secret", () => {
    const json = renderConfigDocument(bot, sample.spec).json;
    expect(json).not.toContain("paper-exchange-credentials");
    expect(json).not.toContain("trading-database");
  });

  it("carries who last changed the kill switch to the next pod, without restarting the running one", () => {
    const plain = renderConfigDocument(bot, sample.spec);
    const stamped = renderConfigDocument(bot, sample.spec, "alice@example.com");
    expect(JSON.parse(stamped.json).killSwitchChangedBy).toBe("alice@example.com");
    expect(JSON.parse(plain.json)).not.toHaveProperty("killSwitchChangedBy");
    expect(stamped.hash).toBe(plain.hash);
  });

  it("hashes the document so that engaging the kill switch does not restart the bot but a new strategy does", () => {
    const base = renderConfigDocument(bot, sample.spec).hash;
    const halted = { ...sample.spec, killSwitch: { ...sample.spec.killSwitch, engaged: true } };
    expect(renderConfigDocument(bot, halted).hash).toBe(base);
    const wider = {
      ...sample.spec,
      strategy: {
        type: "grid" as const,
        grid: { ...(sample.spec.strategy as { grid: object }).grid, levels: 21 },
      },
    } as typeof sample.spec;
    expect(renderConfigDocument(bot, wider).hash).not.toBe(base);
  });

  it("tells the runtime which latched risk halt was acknowledged, so its own record of the latch lets it trade", () => {
    const acknowledged = {
      ...sample.spec,
      killSwitch: { ...sample.spec.killSwitch, acknowledgeHalt: "risk-20260301T120000-0a1b2c3d" },
    };
    expect(renderRuntimeConfig(bot, acknowledged).acknowledgedHalt).toBe("risk-20260301T120000-0a1b2c3d");
    expect(renderRuntimeConfig(bot, sample.spec).acknowledgedHalt).toBeUndefined();
  });

  it("tells the runtime the pod's grace period, capped by the operator as the pod's is", () => {
    const spec = { ...sample.spec, pod: { ...sample.spec.pod, terminationGracePeriodSeconds: 45 } };
    const pod = (cap?: number) =>
      buildBotPod({
        bot,
        spec,
        defaultImage: "bot-runtime:test",
        configHash: "0",
        secretVersions: { exchange: "1", database: "1" },
        ...(cap === undefined ? {} : { maxGracePeriodSeconds: cap }),
      }).spec?.terminationGracePeriodSeconds;
    const rendered = (cap?: number) =>
      RuntimeConfig.parse(
        JSON.parse(
          buildBotConfigMap(bot, renderConfigDocument(bot, spec, undefined, cap)).data?.["config.json"] ?? "",
        ),
      ).stopGracePeriodSeconds;
    expect(rendered(20)).toBe(20);
    expect(rendered(20)).toBe(pod(20));
    expect(rendered(120)).toBe(45);
    expect(rendered()).toBe(pod());
  });

  it("leaves the grace period out of the hash: its change restarts the pod through the pod's own spec", () => {
    expect(renderConfigDocument(bot, sample.spec, undefined, 20).hash).toBe(
      renderConfigDocument(bot, sample.spec, undefined, 60).hash,
    );
  });

  it("carries the bot's labels and a controlling owner reference", () => {
    const configMap = buildBotConfigMap(bot, renderConfigDocument(bot, sample.spec));
    expect(configMap.metadata.labels?.["app.kubernetes.io/managed-by"]).toBe("tradingbot-operator");
    expect(configMap.metadata.ownerReferences?.[0]).toMatchObject({
      uid: bot.uid,
      controller: true,
      blockOwnerDeletion: true,
    });
  });
});
