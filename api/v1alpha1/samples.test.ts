import { readdirSync, readFileSync } from "node:fs";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { API_VERSION } from "./group.ts";
import { KillSwitch } from "./killswitch.ts";
import { EXCHANGE_SECRET_KEYS, REQUIRED_DATABASE_SECRET_KEYS } from "./runtime-config.ts";
import { TradingBot } from "./tradingbot.ts";

const samplesDir = new URL("../../config/samples/", import.meta.url);
const samples = readdirSync(samplesDir)
  .filter((file) => file.endsWith(".yaml"))
  .map((file) => ({
    file,
    object: load(readFileSync(new URL(file, samplesDir), "utf8")) as Record<string, unknown>,
  }));

function ofKind(kind: string) {
  return samples.filter((sample) => sample.object.kind === kind);
}

describe("config/samples", () => {
  it("holds a paper grid bot, a paper DCA bot, a testnet smaCross bot and a KillSwitch", () => {
    const bots = ofKind("TradingBot").map(({ object }) => TradingBot.parse(object).spec);
    expect(bots.map((spec) => [spec.exchange.mode, spec.strategy.type]).sort()).toEqual([
      ["paper", "dca"],
      ["paper", "grid"],
      ["testnet", "smaCross"],
    ]);
    expect(ofKind("KillSwitch")).toHaveLength(1);
  });

  it.each(ofKind("TradingBot"))("$file is a valid TradingBot whose Secrets are samples too", ({ object }) => {
    const bot = TradingBot.parse(object);
    expect(bot.apiVersion).toBe(API_VERSION);
    const secrets = ofKind("Secret").map(
      ({ object }) => object as { metadata: { name: string }; stringData: object },
    );
    const secretNamed = (name: string) => secrets.find((secret) => secret.metadata.name === name)?.stringData;
    expect(Object.keys(secretNamed(bot.spec.exchange.credentialsSecretRef.name) ?? {}).sort()).toEqual(
      Object.values(EXCHANGE_SECRET_KEYS).sort(),
    );
    expect(Object.keys(secretNamed(bot.spec.database.secretRef.name) ?? {})).toEqual(
      expect.arrayContaining([...REQUIRED_DATABASE_SECRET_KEYS]),
    );
  });

  it("has a KillSwitch that halts every bot of one namespace", () => {
    const [sample] = ofKind("KillSwitch");
    const killSwitch = KillSwitch.parse(sample?.object);
    expect(killSwitch.spec).toMatchObject({ engaged: true, namespaces: ["trading"] });
    expect(killSwitch.spec.selector).toBeUndefined();
  });

  it("leaves the namespace of namespaced samples to kubectl apply -n", () => {
    for (const { object } of samples) {
      expect((object.metadata as Record<string, unknown>).namespace).toBeUndefined();
    }
  });
});
