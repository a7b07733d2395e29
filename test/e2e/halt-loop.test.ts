import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Decimal } from "../../bot-runtime/money/decimal.ts";
import { waitFor } from "../support/wait-for.ts";
import { SAMPLE_GRID_BOT, type TradingEnvironment } from "./environment.ts";
import { conditionOf, isReady, patchKillSwitch, startSuiteEnvironment } from "./suite-environment.ts";

// The whole loop for one bot: kubectl apply → trading on the simulator → fills in PostgreSQL → status;
// kubectl patch → every open order cancelled at the exchange within 2 s → audited → Halted; resume.

const BOT = "grid-btc-paper";
/** The functional requirement: patch answered → last open order cancelled at the exchange. */
const HALT_DEADLINE_MS = 2_000;

let env: TradingEnvironment;
let ns: string;
let uid: string;

const gridPrice = (price: number) => price.toFixed(2);
/** The recorded PnL as the runtime reports it: 8 decimals, rounded half to even. */
const reportedPnl = (recorded: string | undefined) =>
  recorded === undefined ? undefined : Decimal.parse(recorded).toPlaces(8, "halfEven").toString();

beforeAll(async () => {
  const suite = await startSuiteEnvironment("e2e-halt", ["desk"]);
  env = suite.env;
  ns = suite.namespaces[0] as string;
});

afterAll(async () => {
  await env?.stop();
});

describe("a paper grid bot from the sample", () => {
  it("becomes Ready, places orders on the simulator, records its fills in PostgreSQL and shows heartbeat, open orders and PnL in its status", async () => {
    await env.apply([env.botFromSample(SAMPLE_GRID_BOT, ns)]);
    const ready = await env.waitForBot(ns, BOT, isReady, "Ready");
    uid = ready.metadata.uid;
    const buys = await waitFor(
      () => {
        const open = env.openOrdersAtExchange(uid).filter((order) => order.side === "BUY");
        return open.length > 0 ? open : undefined;
      },
      { what: "the grid's buy orders at the simulator", timeoutMs: 60_000 },
    );
    expect(buys.every((order) => order.type === "LIMIT" && order.symbol === "BTCUSDT")).toBe(true);

    // The market dips just through the highest buy: it fills, and the grid answers with a sell one level up.
    const highestBuy = Math.max(...buys.map((order) => Number(order.price)));
    env.sim.setPrice({ symbol: "BTCUSDT", price: gridPrice(highestBuy * 0.996) });
    const buyFill = await waitFor(async () => (await env.fills(uid)).find((fill) => fill.side === "buy"), {
      what: "the buy's fill in PostgreSQL",
      timeoutMs: 30_000,
    });
    const exchangeTrade = env.sim
      .trades({ apiKey: env.account(ns).apiKey })
      .find((trade) => String(trade.id) === buyFill.tradeId);
    expect(exchangeTrade?.isBuyer).toBe(true);
    expect(Number(buyFill.price)).toBe(highestBuy);

    const sell = await waitFor(() => env.openOrdersAtExchange(uid).find((order) => order.side === "SELL"), {
      what: "the grid's sell one level above the filled buy",
      timeoutMs: 30_000,
    });
    expect(Number(sell.price)).toBeGreaterThan(highestBuy);
    // Then the market rises through the sell: a round trip, so a realized profit.
    env.sim.setPrice({ symbol: "BTCUSDT", price: gridPrice(Number(sell.price) * 1.004) });
    await waitFor(async () => (await env.fills(uid)).some((fill) => fill.side === "sell"), {
      what: "the sell's fill in PostgreSQL",
      timeoutMs: 30_000,
    });

    // What the runtime recorded is what the TradingBot's status shows.
    const shown = await waitFor(
      async () => {
        const [bot, state] = await Promise.all([env.bot(ns, BOT), env.botState(uid)]);
        const runtime = bot.status?.runtime;
        const open = env.openOrdersAtExchange(uid).length;
        const agrees =
          runtime?.realizedPnl !== undefined &&
          Number(runtime.realizedPnl) > 0 &&
          runtime.realizedPnl === reportedPnl(state?.realizedPnl) &&
          runtime.openOrders === open;
        if (!agrees) {
          throw new Error(
            `status.runtime ${JSON.stringify(runtime)}; recorded PnL ${state?.realizedPnl}; open at the exchange ${open}`,
          );
        }
        return bot;
      },
      { what: "status.runtime to show the realized PnL and the open orders", timeoutMs: 30_000 },
    );
    const heartbeat = Date.parse(shown.status?.runtime?.heartbeat ?? "");
    expect(Date.now() - heartbeat).toBeLessThan(30_000);
    expect(shown.status?.runtime?.state).toBe("Trading");
    expect(conditionOf(shown, "RuntimeReachable")?.status).toBe("True");

    // The printer columns a user sees with `kubectl get tb`.
    const table = await env.kubectl(["get", "tb", BOT, "-n", ns]);
    const [header, row] = table.trim().split("\n");
    // Columns are at least two spaces apart; a column's name may have one inside.
    expect(header?.split(/\s{2,}/)).toEqual([
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
    const cells = row?.split(/\s+/) ?? [];
    expect(cells.slice(0, 6)).toEqual([BOT, "Running", "paper", "BTC/USDT", "grid", "False"]);
    expect(Number(cells[7])).toBeGreaterThan(0);
  });

  it("halts on kubectl patch: every open order is cancelled at the simulator within 2 s, the stop is audited and status says Halted", async () => {
    const open = await waitFor(
      () => {
        const orders = env.openOrdersAtExchange(uid);
        return orders.length > 0 ? orders : undefined;
      },
      { what: "open orders before the halt", timeoutMs: 30_000 },
    );
    await patchKillSwitch(env, ns, BOT, { engaged: true, reason: "e2e: exchange incident" });
    const patched = Date.now();

    const cancelled = await waitFor(
      () => {
        const now = env.ordersAtExchange(uid);
        const stillOpen = now.filter(
          (order) => order.status === "NEW" || order.status === "PARTIALLY_FILLED",
        );
        return stillOpen.length === 0 ? now : undefined;
      },
      { what: "no open order of the bot at the simulator", timeoutMs: 30_000, intervalMs: 20 },
    );
    const byId = new Map(cancelled.map((order) => [order.clientOrderId, order]));
    for (const order of open) {
      expect(byId.get(order.clientOrderId)?.status, order.clientOrderId).toBe("CANCELED");
    }
    // The bot may have placed another order while the patch travelled: the halt cancels it too.
    const cancelledByHalt = cancelled.filter(
      (order) => order.status === "CANCELED" && order.updateTime >= patched - 1_000,
    );
    const lastCancel = Math.max(...cancelledByHalt.map((order) => order.updateTime));
    expect(lastCancel - patched).toBeLessThanOrEqual(HALT_DEADLINE_MS);

    const halted = await env.waitForBot(ns, BOT, (b) => b.status?.phase === "Halted", "phase Halted");
    expect(halted.status?.halt).toMatchObject({
      engaged: true,
      source: "Spec",
      reason: "e2e: exchange incident",
    });
    expect(conditionOf(halted, "Halted")).toMatchObject({ status: "True", reason: "Spec" });
    expect(conditionOf(halted, "Ready")).toMatchObject({ status: "False", reason: "Halted" });
    await env.view.waitForPodGone(ns, `${BOT}-runtime`);
    expect(env.runtimeProcesses(ns, `${BOT}-runtime`)).toEqual([]);

    const audit = await env.auditRows(uid);
    const stopped = audit.filter((row) => row.event === "stopped").at(-1);
    expect(stopped?.payload).toMatchObject({ onStop: "CancelOrders", cancelled: cancelledByHalt.length });
    expect(stopped?.at.getTime()).toBeGreaterThanOrEqual(patched - 1_000);
    // Exactly one audit row per cancelled order.
    const cancelRows = audit.filter(
      (row) => row.event === "order_cancelled" && row.at.getTime() >= patched - 1_000,
    );
    expect(cancelRows.map((row) => row.payload.clientOrderId).sort()).toEqual(
      cancelledByHalt.map((order) => order.clientOrderId).sort(),
    );
  });

  it("resumes trading when the kill switch is released", async () => {
    const before = await env.bot(ns, BOT);
    await patchKillSwitch(env, ns, BOT, { engaged: false });
    const resumed = Date.now();
    const running = await env.waitForBot(ns, BOT, isReady, "Ready again");
    expect(running.status?.halt).toEqual({ engaged: false });
    expect(conditionOf(running, "Halted")?.status).toBe("False");
    expect(running.metadata.uid).toBe(before.metadata.uid);
    const placedAfterResume = await waitFor(
      () => {
        const orders = env.openOrdersAtExchange(uid).filter((order) => order.time >= resumed);
        return orders.length > 0 ? orders : undefined;
      },
      { what: "new orders at the simulator after the resume", timeoutMs: 60_000 },
    );
    expect(placedAfterResume.length).toBeGreaterThan(0);
    expect(env.runtimeProcesses(ns, `${BOT}-runtime`)).toHaveLength(1);
  });
});
