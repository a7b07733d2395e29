// What the tour says: its steps in order, each with a heading and what it checks, and the live view's frame.

import type { UserCommand } from "./commands.ts";

export interface TourStep {
  heading: string;
  checks: string;
}

export const TOUR_STEPS = {
  apply: {
    heading: "Apply the paper samples",
    checks: "kubectl apply of 3 bots in the trading namespace and 2 in the research namespace",
  },
  ready: {
    heading: "Wait until every bot is Ready",
    checks: "each bot's phase is Running with Ready=True, its pod run by the local node agent",
  },
  orders: {
    heading: "Orders at the exchange",
    checks: "the grid bot's limit orders rest on the exchange simulator",
  },
  fill: {
    heading: "A fill",
    checks: "the price dips through the highest buy: the exchange fills it and PostgreSQL records the fill",
  },
  halt: {
    heading: "Halt one bot with kubectl patch",
    checks: "its open orders are cancelled at the exchange, its pod is gone, its status says Halted",
  },
  audit: {
    heading: "The audit trail",
    checks: "the hash-chained audit log in PostgreSQL records each cancel and the stop",
  },
  resume: {
    heading: "Resume",
    checks: "engaged: false again: the bot is Ready and places new orders",
  },
  console: {
    heading: "Halt from the console",
    checks:
      "the demo user halts the grid bot through the console's HTTP API: kubectl shows it halted by demo, its orders cancelled; resumed the same way",
  },
  operatorDown: {
    heading: "Halt with the operator stopped",
    checks:
      "with the operator frozen (SIGSTOP), a kubectl patch still cancels the bot's orders: its runtime sees the halt on its own watch",
  },
  fleetHalt: {
    heading: "Halt a whole namespace with a KillSwitch",
    checks: "every bot of the trading namespace halts; the research namespace keeps trading",
  },
  release: {
    heading: "Release the fleet",
    checks: "the KillSwitch is released: the trading namespace's bots are Ready again",
  },
  teardown: {
    heading: "Tear down",
    checks: "the bots are deleted (their orders cancelled), then everything the demo started is stopped",
  },
} as const satisfies Record<string, TourStep>;

export type TourStepId = keyof typeof TOUR_STEPS;

export const TOUR_ORDER = Object.keys(TOUR_STEPS) as TourStepId[];

export function stepHeading(id: TourStepId): string {
  const number = TOUR_ORDER.indexOf(id) + 1;
  const step = TOUR_STEPS[id];
  const title = `Step ${number}/${TOUR_ORDER.length}: ${step.heading}`;
  return [title, "=".repeat(title.length), `Checks: ${step.checks}`].join("\n");
}

/** A narrated action: the command as the user would type it. */
export function commandEcho(command: string): string {
  return `$ ${command}`;
}

export function checkPassed(what: string): string {
  return `  ok: ${what}`;
}

export interface LiveFrame {
  now: Date;
  /** `kubectl get tb -A` as kubectl prints it. */
  botsTable: string;
  /** `kubectl get ks` as kubectl prints it, or empty when there is no KillSwitch. */
  switchesTable: string;
  prices: { symbol: string; price: string }[];
  commands: UserCommand[];
  /** Where kubectl is when the user has none. */
  kubectlHint?: string;
}

export function liveFrame(frame: LiveFrame): string {
  const prices = frame.prices.map((p) => `${p.symbol} ${p.price}`).join("   ");
  const lines = [
    `tradingbot-operator demo   ${frame.now.toISOString().slice(11, 19)} UTC   simulator: ${prices}`,
    "",
    "$ kubectl get tb -A",
    frame.botsTable.trimEnd(),
  ];
  if (frame.switchesTable.trim() !== "") lines.push("", "$ kubectl get ks", frame.switchesTable.trimEnd());
  lines.push("", "Try it, from another terminal:");
  for (const command of frame.commands) {
    lines.push(`  # ${command.what}`, ...command.command.split("\n").map((line) => `  ${line}`));
  }
  if (frame.kubectlHint) lines.push("", frame.kubectlHint);
  lines.push("", "Ctrl-C stops the demo and everything it started.");
  return lines.join("\n");
}
