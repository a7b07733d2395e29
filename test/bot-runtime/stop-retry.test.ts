// A stop whose cancels fail (5xx answers on the open-orders and order endpoints) retries them until the
// exchange answers or its deadline comes: the pod's grace period after the stop began, less a margin to
// record the outcome. Until then it cancels every order and exits 0; after it, it records `stop_failed` with
// the halt and exits 1 before the kubelet would SIGKILL it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ExchangeSim } from "../../exchange-sim/index.ts";
import { waitFor } from "../support/wait-for.ts";
import {
  type BotDatabase,
  botRows,
  cleanup,
  placeOrder,
  RuntimeProcess,
  type SimAccount,
  scratchDir,
  smallGrid,
  startSimulator,
  writeBot,
} from "./fixtures.ts";
import { createSuiteDatabase, expectAuditChainIntact, expectDatabaseMatchesExchange } from "./harness.ts";

let db: BotDatabase;
let databasePassword = "";
const dir = scratchDir("rt-stop-retry");
const sims: ExchangeSim[] = [];

beforeAll(async () => {
  db = await createSuiteDatabase("rt_stop_retry");
  databasePassword = readFileSync(join(db.tradingCredentials, "password"), "utf8").trim();
});

afterAll(async () => {
  await Promise.all(sims.map((sim) => sim.close()));
  cleanup(dir);
});

/** Every request of a stop's cancels: the open-orders list, DELETE openOrders and DELETE order. */
const CANCEL_PATHS = ["/api/v3/openOrders", "/api/v3/order"];

const openAtExchange = (sim: ExchangeSim, apiKey: string) =>
  sim.orders({ apiKey }).filter((order) => order.status === "NEW" || order.status === "PARTIALLY_FILLED");

function expectNoSecrets(text: string, account: SimAccount, where: string) {
  for (const planted of [account.apiKey, account.secret, databasePassword]) {
    for (const form of [planted, JSON.stringify(planted).slice(1, -1), encodeURIComponent(planted)]) {
      if (text.includes(form)) throw new Error(`${where} contains a secret (${form.slice(0, 6)}...)`);
    }
  }
}

async function auditOf(botUid: string) {
  const client = await db.admin();
  try {
    return (await botRows(client, botUid)).audit;
  } finally {
    await client.end();
  }
}

/** The bot's orders open at the exchange (not the account's manual one). */
const botOrdersOpen = (sim: ExchangeSim, apiKey: string) =>
  openAtExchange(sim, apiKey).filter((order) => order.clientOrderId !== MANUAL_ORDER_ID);
const MANUAL_ORDER_ID = "manual-order-1";

/** A small grid trading on a fresh simulator, with some of its orders open at the exchange. */
async function tradingBot(
  name: string,
  options: {
    stopGracePeriodSeconds?: number;
    haltIfUnsupervisedForSeconds?: number;
    /** An order of the account that is not the bot's: the bot then cancels its own one by one. */
    manualOrder?: boolean;
    args?: string[];
    env?: NodeJS.ProcessEnv;
  } = {},
) {
  const { sim, account } = await startSimulator();
  sims.push(sim);
  const price = Number(sim.price("BTCUSDT"));
  if (options.manualOrder) {
    const manual = await placeOrder(sim, account, {
      side: "BUY",
      price: (price * 0.9).toFixed(2),
      quantity: "0.001",
      newClientOrderId: MANUAL_ORDER_ID,
    });
    expect(manual.status).toBe(200);
  }
  const setup = writeBot(join(dir, name), sim, account, {
    ...smallGrid(price),
    onStop: "CancelOrders",
    haltIfUnsupervisedForSeconds: options.haltIfUnsupervisedForSeconds,
    stopGracePeriodSeconds: options.stopGracePeriodSeconds,
  });
  const bot = RuntimeProcess.start(
    setup,
    db.tradingCredentials,
    ["--tick-interval-ms", "200", ...(options.args ?? [])],
    { env: options.env ?? {} },
  );
  await waitFor(() => botOrdersOpen(sim, account.apiKey).length >= 2, {
    what: `the grid's buys open at the exchange\n${bot.tail()}`,
  });
  return { sim, account, setup, bot };
}

/** Sends `signal` `afterMs` from now unless the process has exited by then, as the kubelet would. */
function killAfter(bot: RuntimeProcess, afterMs: number, signal: NodeJS.Signals = "SIGKILL") {
  const timer = setTimeout(() => bot.child.kill(signal), afterMs);
  return () => clearTimeout(timer);
}

describe("a stop whose cancels fail", () => {
  it("a stop whose cancels fail for a while retries until the exchange answers, cancels every order and exits 0", async () => {
    const { sim, account, setup, bot } = await tradingBot("recovers");
    sim.setFaults({ errorRate5xx: 1, paths: CANCEL_PATHS });
    bot.child.kill("SIGTERM");
    await bot.waitForLog(
      (line) => line.event === "stop_cancel_retry" && Number(line.attempt) >= 2,
      "a second failed attempt to cancel",
    );
    const open = botOrdersOpen(sim, account.apiKey).length;
    expect(open).toBeGreaterThanOrEqual(2);
    sim.clearFaults();

    expect(await bot.exited).toEqual({ code: 0, signal: null });
    expect(openAtExchange(sim, account.apiKey)).toEqual([]);
    const rows = await expectDatabaseMatchesExchange(db, sim, account, setup.config.bot.uid);
    expect(rows.orders.filter((order) => order.status === "canceled")).toHaveLength(open);
    const stopped = rows.audit.at(-1);
    expect(stopped).toMatchObject({ event: "stopped", payload: { onStop: "CancelOrders", cancelled: open } });
    const retries = bot.events("stop_cancel_retry");
    expect(stopped?.payload.cancelAttempts).toBe(retries.length + 1);
    expect(retries.map((line) => line.attempt)).toEqual(retries.map((_, index) => index + 1));
    expect(rows.audit.filter((row) => row.event === "stop_failed")).toEqual([]);
    expectNoSecrets(bot.raw, account, "the runtime's output");
    await expectAuditChainIntact(db);
  });

  it("a stop whose exchange stays down past its deadline records stop_failed with the halt and exits 1 before its grace runs out", async () => {
    const grace = 4;
    // A halt without an API server: the halt watch cannot start, and the dead man's switch halts the bot.
    const { sim, account, setup, bot } = await tradingBot("deadline", {
      stopGracePeriodSeconds: grace,
      haltIfUnsupervisedForSeconds: 15,
      manualOrder: true,
      args: ["--halt-watch", join(dir, "no-halt-watch")],
      env: { KUBERNETES_SERVICE_HOST: "", KUBERNETES_SERVICE_PORT: "" },
    });
    // The open orders can be listed, but no order can be cancelled.
    sim.setFaults({ errorRate5xx: 1, paths: ["/api/v3/order"] });
    expect(bot.events("halt"), "the halt came before the exchange failed").toEqual([]);

    await bot.waitForEvent("halt", 60_000);
    // The operator's DELETE, and so the kubelet's SIGKILL a grace period later, come no earlier than this.
    const cancelKill = killAfter(bot, grace * 1000);
    await bot.waitForEvent("stop_cancel_retry");
    // The halt is in the database from the first failed attempt on, before the stop knows how it ends.
    expect((await auditOf(setup.config.bot.uid)).map((row) => row.event)).toContain("halt");
    const exit = await bot.exited;
    cancelKill();

    expect(exit).toEqual({ code: 1, signal: null });
    const stillOpen = botOrdersOpen(sim, account.apiKey).length;
    expect(stillOpen).toBeGreaterThanOrEqual(2);
    const audit = await auditOf(setup.config.bot.uid);
    expect(audit.slice(-2)).toMatchObject([
      { event: "halt", payload: { source: "Unsupervised", noticedBy: "watch", onEngage: "CancelOrders" } },
      { event: "stop_failed", payload: { stillOpen, cancelled: 0 } },
    ]);
    const failed = audit.at(-1)?.payload as { error: string; attempts: number };
    expect(failed.error).toContain("-1001");
    expect(failed.attempts).toBe(bot.events("stop_cancel_retry").length + 1);
    expect(audit.map((row) => row.event)).not.toContain("stopped");
    expect(bot.events("stop_failed")).toMatchObject([{ level: "error", stillOpen }]);
    expectNoSecrets(bot.raw, account, "the runtime's output");
    expectNoSecrets(JSON.stringify(audit), account, "the audit log");
    await expectAuditChainIntact(db);
  });

  it("a stop whose requests hang past its deadline stops waiting for them and exits 1 before its grace runs out", async () => {
    // Longer than a request's 5 s timeout: the tick in flight at the SIGTERM may hold the stop up that long.
    const grace = 8;
    const { sim, account, setup, bot } = await tradingBot("hanging", { stopGracePeriodSeconds: grace });
    sim.setFaults({ hangRate: 1, paths: CANCEL_PATHS });
    bot.child.kill("SIGTERM");
    const cancelKill = killAfter(bot, grace * 1000);
    const exit = await bot.exited;
    cancelKill();

    expect(exit).toEqual({ code: 1, signal: null });
    expect(botOrdersOpen(sim, account.apiKey).length).toBeGreaterThanOrEqual(2);
    const failed = (await auditOf(setup.config.bot.uid)).at(-1);
    expect(failed).toMatchObject({ event: "stop_failed", payload: { cancelled: 0 } });
    expect(failed?.payload.error).not.toContain("signature");
    expect(bot.events("stop_failed")).toMatchObject([{ level: "error" }]);
    expectNoSecrets(bot.raw, account, "the runtime's output");
  });
});
