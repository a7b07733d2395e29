import { describe, expect, it } from "vitest";
import { liveFrame, stepHeading, TOUR_ORDER, TOUR_STEPS } from "./narration.ts";

describe("the tour's narration", () => {
  it("walks the halt loop in the order of the issue: apply, trade, halt, audit, resume, fleet halt", () => {
    expect(TOUR_ORDER).toEqual([
      "apply",
      "ready",
      "orders",
      "fill",
      "halt",
      "audit",
      "resume",
      "console",
      "operatorDown",
      "fleetHalt",
      "release",
      "teardown",
    ]);
  });

  it("numbers each step's heading, underlines it and says what it checks", () => {
    expect(stepHeading("halt").split("\n")).toEqual([
      "Step 5/12: Halt one bot with kubectl patch",
      "==========================================",
      `Checks: ${TOUR_STEPS.halt.checks}`,
    ]);
  });
});

describe("the live view", () => {
  const frame = {
    now: new Date("2026-01-02T03:04:05Z"),
    botsTable: "NAMESPACE   NAME\ntrading     grid-btc-paper\n",
    switchesTable: "",
    prices: [{ symbol: "BTCUSDT", price: "65000.00" }],
    commands: [
      { what: "halt one bot", command: "kubectl patch tb x" },
      { what: "halt the fleet", command: "kubectl apply -f - <<'EOF'\nkind: KillSwitch\nEOF" },
    ],
  };

  it("shows the time, the prices, kubectl get tb -A and every command, each line indented", () => {
    expect(liveFrame(frame).split("\n")).toEqual([
      "tradingbot-operator demo   03:04:05 UTC   simulator: BTCUSDT 65000.00",
      "",
      "$ kubectl get tb -A",
      "NAMESPACE   NAME",
      "trading     grid-btc-paper",
      "",
      "Try it, from another terminal:",
      "  # halt one bot",
      "  kubectl patch tb x",
      "  # halt the fleet",
      "  kubectl apply -f - <<'EOF'",
      "  kind: KillSwitch",
      "  EOF",
      "",
      "Ctrl-C stops the demo and everything it started.",
    ]);
  });

  it("adds the KillSwitches once there are some, and where kubectl is", () => {
    const text = liveFrame({
      ...frame,
      switchesTable: "NAME   ENGAGED\nhalt   true\n",
      kubectlHint: "No kubectl?",
    });
    expect(text).toContain("$ kubectl get ks\nNAME   ENGAGED\nhalt   true\n");
    expect(text).toContain("\nNo kubectl?\n");
  });
});
