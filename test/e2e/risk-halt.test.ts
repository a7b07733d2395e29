import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/wait-for.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "./environment.ts";
import { isReady, patchKillSwitch, startSuiteEnvironment } from "./suite-environment.ts";

// A price crash on the simulator trips the daily-loss limit: the bot halts itself, the operator latches
// the halt, and only an acknowledgement naming the halt's id starts the bot again.

const BOT = "grid-btc-paper";
const POD = `${BOT}-runtime`;

let env: TradingEnvironment;
let ns: string;
let uid: string;
let haltId: string;
let priceBeforeCrash: string;

beforeAll(async () => {
  const suite = await startSuiteEnvironment("e2e-risk", ["desk"]);
  env = suite.env;
  ns = suite.namespaces[0] as string;
});

afterAll(async () => {
  await env?.stop();
});

describe("a price crash", () => {
  it("trips the daily-loss limit: the bot cancels its orders and halts itself, and the operator latches the halt as RiskLimitBreached", async () => {
    await env.apply([
      env.botFromSample(SAMPLE_GRID_BOT, ns, {
        spec: (spec) => {
          spec.risk = { ...(spec.risk as object), maxDailyLossQuote: "5" };
        },
      }),
    ]);
    uid = (await env.waitForBot(ns, BOT, isReady, "Ready")).metadata.uid;
    await waitFor(() => env.openOrdersAtExchange(uid).filter((order) => order.side === "BUY").length >= 2, {
      what: "the grid's buys at the simulator",
      timeoutMs: 60_000,
    });

    priceBeforeCrash = env.sim.price("BTCUSDT");
    // The market falls 20 %: the resting buys fill on the way down, and the position loses far more than 5.
    env.sim.setPrice({ symbol: "BTCUSDT", movePct: -20 });

    const latched = await env.waitForBot(
      ns,
      BOT,
      (b) => b.status?.halt?.source === "Risk" && b.status.phase === "Halted",
      "a latched risk halt",
    );
    expect(latched.status?.halt).toMatchObject({ engaged: true, requiresAck: true });
    expect(latched.status?.halt?.reason).toMatch(/^RiskLimitBreached: maxDailyLossQuote reached /);
    haltId = latched.status?.halt?.id ?? "";
    expect(haltId).toMatch(/^risk-/);

    await env.view.waitForPodGone(ns, POD);
    expect(env.runtimeProcesses(ns, POD)).toEqual([]);
    expect(env.openOrdersAtExchange(uid)).toEqual([]);
    const audit = await env.auditRows(uid);
    const halt = audit.find((row) => row.event === "halt");
    expect(halt?.payload).toMatchObject({ haltId, limit: "maxDailyLossQuote", threshold: "5" });
    expect((await env.fills(uid)).some((fill) => fill.side === "buy")).toBe(true);
  });

  it("refuses an acknowledgement with the wrong id and stays halted", async () => {
    await patchKillSwitch(env, ns, BOT, { acknowledgeHalt: "risk-not-this-one" });
    const refused = await env.waitForBot(
      ns,
      BOT,
      (b) => (b.status?.halt?.message ?? "").startsWith("Acknowledgement refused"),
      "the refused acknowledgement in status.halt.message",
    );
    expect(refused.status?.halt).toMatchObject({
      engaged: true,
      source: "Risk",
      id: haltId,
      requiresAck: true,
    });
    expect(refused.status?.halt?.message).toContain(`set it to "${haltId}"`);
    expect(refused.status?.phase).toBe("Halted");
    expect(await env.view.pod(ns, POD)).toBeUndefined();
  });

  it("starts the bot again once acknowledgeHalt names the halt's id", async () => {
    // The market recovers first, so the restarted bot is within its limit again.
    env.sim.setPrice({ symbol: "BTCUSDT", price: priceBeforeCrash });
    await patchKillSwitch(env, ns, BOT, { acknowledgeHalt: haltId });
    const acknowledged = Date.now();
    const running = await env.waitForBot(ns, BOT, isReady, "Ready after the acknowledgement");
    expect(running.status?.halt).toEqual({ engaged: false });
    await waitFor(() => env.openOrdersAtExchange(uid).some((order) => order.time >= acknowledged), {
      what: "new orders after the acknowledgement",
      timeoutMs: 60_000,
    });
    expect(env.runtimeProcesses(ns, POD)).toHaveLength(1);
  });
});
