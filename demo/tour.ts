// `make demo DEMO=tour`: the halt loop of the end-to-end suite, narrated. Each step says what it checks,
// does it the way a user would (kubectl against the demo's cluster), shows the evidence from the exchange
// and from PostgreSQL, and stops the tour with a clear message when an expectation fails.

import { verifyAuditChains } from "../bot-runtime/store/audit-verify.ts";
import { type BotObject, SAMPLE_GRID_BOT } from "../test/e2e/environment.ts";
import { deleteBotNamespaces } from "../test/operator/harness.ts";
import { waitFor } from "../test/support/wait-for.ts";
import {
  type CommandContext,
  fleetKillSwitch,
  haltFleetCommand,
  kubectlLine,
  patchBotKillSwitchArgs,
  releaseFleetArgs,
} from "./commands.ts";
import { ConsoleSession } from "./console.ts";
import {
  botKey,
  demoFleet,
  demoFleetSwitch,
  FEATURED_BOT,
  type FleetBot,
  KILL_SWITCH_SAMPLE_PATH,
  sampleKillSwitchReason,
} from "./fleet.ts";
import { checkPassed, commandEcho, stepHeading, type TourStepId } from "./narration.ts";
import type { DemoOptions } from "./options.ts";
import type { DemoStack } from "./stack.ts";
import {
  type AuditRecord,
  auditTable,
  fillsTable,
  formatSeconds,
  indent,
  ordersTable,
  rowsInNamespaces,
  trimDecimal,
} from "./tables.ts";

/** An expectation of the tour that did not hold. */
export class TourCheckFailed extends Error {}

function check(condition: boolean, message: string): void {
  if (!condition) throw new TourCheckFailed(message);
}

const conditionOf = (bot: BotObject, type: string) =>
  bot.status?.conditions?.find((condition) => condition.type === type);
const isReady = (bot: BotObject) =>
  bot.status?.phase === "Running" && conditionOf(bot, "Ready")?.status === "True";
const isOpen = (order: { status: string }) => order.status === "NEW" || order.status === "PARTIALLY_FILLED";

export interface TourContext {
  stack: DemoStack;
  options: DemoOptions;
  /** Prints a block of narration. */
  say(text: string): void;
  /** Set once the user asked the demo to stop. */
  signal: AbortSignal;
}

export async function runTour(context: TourContext): Promise<void> {
  const { stack, options, say, signal } = context;
  const { env } = stack;
  const fleet = demoFleet(options.namespaces);
  const featured = fleet.find(
    (bot) => bot.name === FEATURED_BOT && bot.namespace === options.namespaces.trading,
  ) as FleetBot;
  const namespaces = [options.namespaces.trading, options.namespaces.research];
  const uids = new Map<string, string>();
  const uidOf = (bot: FleetBot) => uids.get(botKey(bot)) as string;
  const killSwitchSamplePath = KILL_SWITCH_SAMPLE_PATH;
  const commands: CommandContext = { kubeconfigPath: stack.kubeconfigPath, killSwitchSamplePath };
  const fleetSwitch = demoFleetSwitch(options, sampleKillSwitchReason());

  const step = (id: TourStepId) => {
    if (signal.aborted) throw new Error("stopped by the user");
    say(`\n${stepHeading(id)}\n`);
  };
  /** Runs kubectl as the user would type it, and shows it. */
  const kubectl = async (args: string[], shown = kubectlLine(commands, args)) => {
    say(commandEcho(shown));
    const output = await env.kubectl(args);
    if (output.trim() !== "") say(indent(output.trimEnd()));
    return output;
  };
  /** Shows the output of a read-only kubectl command without the kubeconfig clutter. */
  const show = async (args: string[]) => {
    say(commandEcho(["kubectl", ...args].join(" ")));
    say(indent(rowsInNamespaces(await env.kubectl(args), namespaces)));
  };
  const openOrders = (bot: FleetBot) => env.openOrdersAtExchange(uidOf(bot));

  // 1. Apply
  step("apply");
  say(
    indent(
      [
        "The samples of config/samples, adapted to this machine only where they must be: the exchange",
        `endpoint points at the simulator (${env.sim.url}), the pod is placed on the local node agent's`,
        `Node ${env.nodeName}, and each namespace's Secrets hold its own simulator key and database login.`,
      ].join("\n"),
    ),
  );
  for (const bot of fleet) say(indent(`${bot.namespace}/${bot.name} from ${bot.sample}`));
  say(commandEcho("kubectl apply --server-side -f -   # the adapted samples, as one List"));
  await env.apply(fleet.map((bot) => env.botFromSample(bot.sample, bot.namespace, { name: bot.name })));
  for (const bot of fleet) {
    const applied = await env.view.bot(bot.namespace, bot.name);
    check(applied !== undefined, `TradingBot ${botKey(bot)} was not created`);
    uids.set(botKey(bot), (applied as BotObject).metadata.uid);
  }
  say(checkPassed(`${fleet.length} TradingBots created`));

  // 2. Ready
  step("ready");
  const started = Date.now();
  for (const bot of fleet) {
    const ready = await env.waitForBot(bot.namespace, bot.name, isReady, "Ready", 120_000);
    const podName = ready.status?.podName ?? "";
    check(podName !== "", `${botKey(bot)} is Ready but its status names no pod`);
    check(
      env.runtimeProcesses(bot.namespace, podName).length === 1,
      `${botKey(bot)}: expected exactly one bot-runtime process for pod ${podName}`,
    );
  }
  await show(["get", "tb", "-A"]);
  say(checkPassed(`all ${fleet.length} bots Ready within ${formatSeconds(Date.now() - started)}`));

  // 3. Orders at the exchange
  step("orders");
  const buys = await waitFor(
    () => {
      const open = openOrders(featured).filter((order) => order.side === "BUY");
      return open.length > 0 ? open : undefined;
    },
    { what: `${botKey(featured)}'s buy orders at the simulator`, timeoutMs: 60_000 },
  );
  say(`Open orders of ${botKey(featured)} at the exchange simulator (its own read-back):`);
  say(indent(ordersTable(openOrders(featured))));
  check(
    buys.every((order) => order.type === "LIMIT" && order.symbol === "BTCUSDT"),
    "the grid's buys should be BTCUSDT limit orders",
  );
  say(
    checkPassed(
      `${buys.length} limit buys resting below the price of ${trimDecimal(env.sim.price("BTCUSDT"))}`,
    ),
  );

  // 4. A fill
  step("fill");
  const highestBuy = Math.max(...buys.map((order) => Number(order.price)));
  const dip = (highestBuy * 0.996).toFixed(2);
  say(`The simulator's price dips just below the highest buy (${highestBuy}): BTCUSDT → ${dip}`);
  env.sim.setPrice({ symbol: "BTCUSDT", price: dip });
  const buyFill = await waitFor(
    async () => (await env.fills(uidOf(featured))).find((fill) => fill.side === "buy"),
    { what: "the buy's fill in PostgreSQL", timeoutMs: 30_000 },
  );
  const sell = await waitFor(() => openOrders(featured).find((order) => order.side === "SELL"), {
    what: "the grid's sell one level above the filled buy",
    timeoutMs: 30_000,
  });
  const rise = (Number(sell.price) * 1.004).toFixed(2);
  say(
    `The grid answers with a sell at ${trimDecimal(sell.price)}; the price rises through it: BTCUSDT → ${rise}`,
  );
  env.sim.setPrice({ symbol: "BTCUSDT", price: rise });
  await waitFor(async () => (await env.fills(uidOf(featured))).some((fill) => fill.side === "sell"), {
    what: "the sell's fill in PostgreSQL",
    timeoutMs: 30_000,
  });
  say(`Fills of ${botKey(featured)} recorded in PostgreSQL:`);
  say(indent(fillsTable(await env.fills(uidOf(featured)))));
  check(Number(buyFill.price) === highestBuy, `the buy should fill at its limit ${highestBuy}`);
  const profited = await waitFor(
    async () => {
      const bot = await env.bot(featured.namespace, featured.name);
      return Number(bot.status?.runtime?.realizedPnl ?? 0) > 0 ? bot : undefined;
    },
    { what: `${botKey(featured)}'s status to show a realized profit`, timeoutMs: 30_000 },
  );
  await show(["get", "tb", "-n", featured.namespace]);
  say(
    checkPassed(
      `a round trip: bought at ${highestBuy}, sold at ${trimDecimal(sell.price)}, PnL ${profited.status?.runtime?.realizedPnl} USDT in the status`,
    ),
  );

  // 5. Halt one bot
  step("halt");
  const openBefore = await waitFor(
    () => {
      const open = openOrders(featured);
      return open.length > 0 ? open : undefined;
    },
    { what: `open orders of ${botKey(featured)} before the halt`, timeoutMs: 30_000 },
  );
  say(`${botKey(featured)} has ${openBefore.length} open orders at the exchange.`);
  const patchArgs = patchBotKillSwitchArgs(featured.namespace, featured.name, {
    engaged: true,
    reason: "demo: exchange incident",
  });
  // From before kubectl starts: the cancels may reach the exchange before kubectl has exited.
  const patched = Date.now();
  await kubectl(patchArgs);
  const afterHalt = await waitFor(
    () => {
      const orders = env.ordersAtExchange(uidOf(featured));
      return orders.some(isOpen) ? undefined : orders;
    },
    { what: `no open order of ${botKey(featured)} at the simulator`, timeoutMs: 30_000, intervalMs: 20 },
  );
  // What the halt cancelled, which includes any order the grid placed while the patch was on its way.
  const cancelledByHalt = afterHalt.filter(
    (order) => order.status === "CANCELED" && order.updateTime >= patched,
  );
  say("Its orders at the exchange now:");
  say(indent(ordersTable(cancelledByHalt)));
  const byId = new Map(afterHalt.map((order) => [order.clientOrderId, order]));
  for (const order of openBefore) {
    const now = byId.get(order.clientOrderId);
    check(now?.status === "CANCELED", `order ${order.clientOrderId} is ${now?.status}, not CANCELED`);
  }
  const lastCancel = Math.max(...cancelledByHalt.map((order) => order.updateTime));
  const halted = await env.waitForBot(
    featured.namespace,
    featured.name,
    (bot) => bot.status?.phase === "Halted",
    "phase Halted",
  );
  check(halted.status?.halt?.source === "Spec", `halt source is ${halted.status?.halt?.source}, not Spec`);
  await env.view.waitForPodGone(featured.namespace, `${featured.name}-runtime`);
  check(
    env.runtimeProcesses(featured.namespace, `${featured.name}-runtime`).length === 0,
    "a bot-runtime process is still running for the halted bot",
  );
  await show(["get", "tb", featured.name, "-n", featured.namespace]);
  say(indent("(ORDERS and PNL of a halted bot are what its runtime last reported before it stopped.)"));
  say(
    checkPassed(
      `${cancelledByHalt.length} orders cancelled at the exchange within ${formatSeconds(lastCancel - patched)} of running the patch; pod gone; phase Halted (source Spec)`,
    ),
  );

  // 6. The audit trail
  step("audit");
  const client = await env.database.admin();
  let records: AuditRecord[];
  let chainIntact: boolean;
  let chainRows: number;
  try {
    const result = await client.query<AuditRecord & { seq: string }>(
      `SELECT seq, at, event, payload, row_hash AS "rowHash" FROM tradingbot.audit_log
        WHERE bot_uid = $1 ORDER BY seq`,
      [uidOf(featured)],
    );
    records = result.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
    const [report] = (await verifyAuditChains(client, featured)).filter(
      (chain) => chain.uid === uidOf(featured),
    );
    chainIntact = report?.verdict.intact === true;
    chainRows = report?.verdict.rows ?? 0;
  } finally {
    await client.end();
  }
  const sinceHalt = records.filter((record) => record.at.getTime() >= patched);
  say(`tradingbot.audit_log rows of ${botKey(featured)} written since the patch (of ${records.length}):`);
  say(indent(auditTable(sinceHalt)));
  const cancelledIds = new Set(
    sinceHalt.filter((record) => record.event === "order_cancelled").map((r) => r.payload.clientOrderId),
  );
  for (const order of cancelledByHalt) {
    check(cancelledIds.has(order.clientOrderId), `no order_cancelled audit row for ${order.clientOrderId}`);
  }
  const stopped = sinceHalt.filter((record) => record.event === "stopped").at(-1);
  check(stopped !== undefined, "no 'stopped' audit row after the halt");
  check(
    stopped?.payload.onStop === "CancelOrders" && stopped.payload.cancelled === cancelledByHalt.length,
    `the 'stopped' row says onStop=${stopped?.payload.onStop} cancelled=${stopped?.payload.cancelled}, expected CancelOrders and ${cancelledByHalt.length}`,
  );
  check(chainIntact, `the audit chain of ${botKey(featured)} does not verify`);
  say(checkPassed(`every cancel and the stop are audited; the hash chain of ${chainRows} rows verifies`));

  // 7. Resume
  step("resume");
  await kubectl(patchBotKillSwitchArgs(featured.namespace, featured.name, { engaged: false }));
  const resumed = Date.now();
  await env.waitForBot(featured.namespace, featured.name, isReady, "Ready again", 60_000);
  const newOrders = await waitFor(
    () => {
      const orders = openOrders(featured).filter((order) => order.time >= resumed);
      return orders.length > 0 ? orders : undefined;
    },
    { what: `new orders of ${botKey(featured)} after the resume`, timeoutMs: 60_000 },
  );
  say(`New orders of ${botKey(featured)} at the exchange:`);
  say(indent(ordersTable(newOrders)));
  say(checkPassed(`Ready again ${formatSeconds(Date.now() - resumed)} after the patch, trading`));

  // 8. Halt from the console: the same patch, made by the console as the person who logged in.
  step("console");
  const { url: consoleUrl, user: consoleUser, password: consolePassword } = stack.console;
  const botApi = `/api/bots/${featured.namespace}/${featured.name}`;
  const viaConsole = new ConsoleSession(consoleUrl);
  say(
    commandEcho(
      `curl -c cookies -H 'content-type: application/json' -d '{"username":"${consoleUser}","password":"…"}' ${consoleUrl}/api/login`,
    ),
  );
  await viaConsole.login(consoleUser, consolePassword);
  const consoleReason = "halted from the console in the tour";
  say(
    commandEcho(
      `curl -b cookies -H "x-csrf-token: $CSRF_TOKEN" -H 'content-type: application/json' -d '{"reason":"${consoleReason}"}' ${consoleUrl}${botApi}/halt`,
    ),
  );
  const consoleHalt = Date.now();
  const haltAnswer = await viaConsole.post(`${botApi}/halt`, { reason: consoleReason });
  check(
    haltAnswer.status === 200,
    `the console answered the halt with ${haltAnswer.status}: ${JSON.stringify(haltAnswer.json)}`,
  );
  await waitFor(() => openOrders(featured).length === 0, {
    what: `no open order of ${botKey(featured)} after the console's halt`,
    timeoutMs: 30_000,
  });
  const consoleCancelMs = Date.now() - consoleHalt;
  const haltedByConsole = await env.waitForBot(
    featured.namespace,
    featured.name,
    (bot) => bot.status?.phase === "Halted" && bot.status.halt?.by !== undefined,
    "Halted, with who halted it",
  );
  await kubectl(["get", "tb", featured.name, "-n", featured.namespace, "-o", "jsonpath={.status.halt}"]);
  check(
    haltedByConsole.status?.halt?.by === consoleUser && haltedByConsole.status.halt.reason === consoleReason,
    `status.halt says ${JSON.stringify(haltedByConsole.status?.halt)}, not the console's ${consoleUser} and its reason`,
  );
  say(
    commandEcho(
      `curl -b cookies -H "x-csrf-token: $CSRF_TOKEN" -H 'content-type: application/json' -d '{}' ${consoleUrl}${botApi}/resume`,
    ),
  );
  const resumeAnswer = await viaConsole.post(`${botApi}/resume`, {});
  check(resumeAnswer.status === 200, `the console answered the resume with ${resumeAnswer.status}`);
  await env.waitForBot(featured.namespace, featured.name, isReady, "Ready again", 60_000);
  say(
    checkPassed(
      `orders cancelled ${formatSeconds(consoleCancelMs)} after the console's answer; status.halt.by: ${consoleUser}; Ready again after the console's resume`,
    ),
  );

  // 9. The second halt path: the operator cannot act, the bot's own watch halts it.
  step("operatorDown");
  const frozenOpen = await waitFor(
    () => {
      const open = openOrders(featured);
      return open.length > 0 ? open : undefined;
    },
    { what: `open orders of ${botKey(featured)} before the second halt`, timeoutMs: 30_000 },
  );
  say(
    commandEcho(
      `kill -STOP ${env.operator.process.pid}   # the operator freezes: it reads and writes nothing`,
    ),
  );
  env.operator.pause();
  let frozenHalt: { cancelled: number; ms: number };
  try {
    const frozenPatched = Date.now();
    await kubectl(
      patchBotKillSwitchArgs(featured.namespace, featured.name, {
        engaged: true,
        reason: "demo: operator down",
      }),
    );
    const afterFrozenHalt = await waitFor(
      () => {
        const orders = env.ordersAtExchange(uidOf(featured));
        return orders.some(isOpen) ? undefined : orders;
      },
      {
        what: `no open order of ${botKey(featured)} with the operator stopped`,
        timeoutMs: 30_000,
        intervalMs: 20,
      },
    );
    const cancelled = afterFrozenHalt.filter(
      (order) => order.status === "CANCELED" && order.updateTime >= frozenPatched,
    );
    for (const order of frozenOpen) {
      const now = afterFrozenHalt.find((o) => o.clientOrderId === order.clientOrderId);
      check(now?.status === "CANCELED", `order ${order.clientOrderId} is ${now?.status}, not CANCELED`);
    }
    frozenHalt = {
      cancelled: cancelled.length,
      ms: Math.max(...cancelled.map((order) => order.updateTime)) - frozenPatched,
    };
    say(`Its orders at the exchange, cancelled while the operator was frozen:`);
    say(indent(ordersTable(cancelled)));
  } finally {
    say(commandEcho(`kill -CONT ${env.operator.process.pid}`));
    env.operator.resume();
  }
  const haltedAgain = await env.waitForBot(
    featured.namespace,
    featured.name,
    (bot) => bot.status?.phase === "Halted" && bot.status.halt?.stoppedBy !== undefined,
    "Halted, with which path stopped it",
  );
  await kubectl(["get", "tb", featured.name, "-n", featured.namespace, "-o", "jsonpath={.status.halt}"]);
  check(haltedAgain.status?.halt?.source === "Spec", "the second halt's source is not Spec");
  check(
    haltedAgain.status?.halt?.stoppedBy === "Runtime",
    `status.halt.stoppedBy is ${haltedAgain.status?.halt?.stoppedBy}, not Runtime: the operator was frozen`,
  );
  await kubectl(patchBotKillSwitchArgs(featured.namespace, featured.name, { engaged: false }));
  await env.waitForBot(featured.namespace, featured.name, isReady, "Ready again", 60_000);
  say(
    checkPassed(
      `${frozenHalt.cancelled} orders cancelled within ${formatSeconds(frozenHalt.ms)} with the operator frozen; status.halt.stoppedBy: Runtime; Ready again after the release`,
    ),
  );

  // 10. Fleet halt
  step("fleetHalt");
  const [tradingBots, researchBots] = [
    fleet.filter((bot) => bot.namespace === options.namespaces.trading),
    fleet.filter((bot) => bot.namespace === options.namespaces.research),
  ];
  // The grids always rest orders; a DCA bot only while its take-profit is on the book.
  const isGrid = (bot: FleetBot) => bot.sample === SAMPLE_GRID_BOT;
  for (const bot of tradingBots.filter(isGrid)) {
    await waitFor(() => openOrders(bot).length > 0, {
      what: `${botKey(bot)}'s orders at the simulator`,
      timeoutMs: 60_000,
    });
  }
  const openAtHalt = tradingBots.reduce((sum, bot) => sum + openOrders(bot).length, 0);
  say(
    `The ${tradingBots.length} bots of ${options.namespaces.trading} have ${openAtHalt} open orders at the exchange.`,
  );
  const usesSample = haltFleetCommand(commands, fleetSwitch).endsWith(killSwitchSamplePath);
  const engaged = Date.now();
  if (usesSample) {
    await kubectl(["apply", "-f", killSwitchSamplePath]);
  } else {
    say(commandEcho(haltFleetCommand(commands, fleetSwitch)));
    await env.apply([fleetKillSwitch(fleetSwitch)]);
  }
  for (const bot of tradingBots) {
    const haltedBot = await env.waitForBot(
      bot.namespace,
      bot.name,
      (b) => b.status?.phase === "Halted",
      "phase Halted",
    );
    check(
      haltedBot.status?.halt?.source === `KillSwitch/${fleetSwitch.name}`,
      `${botKey(bot)} is halted by ${haltedBot.status?.halt?.source}, expected KillSwitch/${fleetSwitch.name}`,
    );
    await env.view.waitForPodGone(bot.namespace, `${bot.name}-runtime`);
    check(openOrders(bot).length === 0, `${botKey(bot)} still has open orders at the exchange`);
  }
  const cancelledByFleetHalt = tradingBots
    .flatMap((bot) => env.ordersAtExchange(uidOf(bot)))
    .filter((order) => order.status === "CANCELED" && order.updateTime >= engaged);
  const lastFleetCancel = Math.max(engaged, ...cancelledByFleetHalt.map((order) => order.updateTime));
  const research = env.account(options.namespaces.research);
  await waitFor(() => env.sim.requests({ apiKey: research.apiKey, sinceMs: Date.now() - 1_000 }).length > 0, {
    what: `requests from the bots of ${options.namespaces.research} after the fleet halt`,
    timeoutMs: 10_000,
  });
  for (const bot of researchBots) {
    const running = await env.bot(bot.namespace, bot.name);
    check(isReady(running), `${botKey(bot)} should still be Running, not ${running.status?.phase}`);
    if (isGrid(bot)) check(openOrders(bot).length > 0, `${botKey(bot)} should still have open orders`);
  }
  // The switch's status counts the bots it holds, where the operator writes it (see stack.ts).
  if (options.cluster.kind === "local") {
    await waitFor(
      async () => {
        const counted = await env.kubectl([
          "get",
          "ks",
          fleetSwitch.name,
          "-o",
          "jsonpath={.status.haltedBots}",
        ]);
        return Number(counted) === tradingBots.length;
      },
      {
        what: `KillSwitch ${fleetSwitch.name} to count ${tradingBots.length} halted bots`,
        timeoutMs: 30_000,
      },
    );
  }
  await show(["get", "ks"]);
  await show(["get", "tb", "-A"]);
  say(indent("(ORDERS and PNL of a halted bot are what its runtime last reported before it stopped.)"));
  say(
    checkPassed(
      `${tradingBots.length} bots of ${options.namespaces.trading} halted, pods gone; their ${cancelledByFleetHalt.length} orders cancelled within ${formatSeconds(lastFleetCancel - engaged)} of running the apply`,
    ),
  );
  say(checkPassed(`the ${researchBots.length} bots of ${options.namespaces.research} kept trading`));

  // 11. Release
  step("release");
  await kubectl(releaseFleetArgs(fleetSwitch.name));
  const released = Date.now();
  for (const bot of tradingBots) {
    await env.waitForBot(bot.namespace, bot.name, isReady, "Ready again", 120_000);
  }
  await show(["get", "tb", "-n", options.namespaces.trading]);
  await kubectl(["delete", "ks", fleetSwitch.name]);
  say(
    checkPassed(
      `${tradingBots.length} bots of ${options.namespaces.trading} Ready again ${formatSeconds(Date.now() - released)} after the release`,
    ),
  );

  // 12. Teardown: the bots go first, while the operator runs to stop their pods and cancel their orders.
  step("teardown");
  await kubectl(["delete", "namespace", ...namespaces, "--wait=false"]);
  await deleteBotNamespaces(env.cluster, namespaces, 120_000);
  const leftOpen = fleet.filter((bot) => openOrders(bot).length > 0).map(botKey);
  check(leftOpen.length === 0, `open orders left at the exchange by ${leftOpen.join(", ")}`);
  say(checkPassed("every TradingBot deleted, no open order left at the exchange"));
}
