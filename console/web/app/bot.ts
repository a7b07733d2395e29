import { ApiError, api, type BotSummary, type FleetFeed } from "./api.ts";
import { botRecordView } from "./bot-record.ts";
import { el, field, form, formatTime, replace } from "./dom.ts";

// One bot: its status and conditions, live from the stream; halt and resume with a reason; acknowledge a
// risk halt by typing its id. Buttons the person may not use are disabled, from a SelfSubjectAccessReview
// made as them; the API server decides again on the press. Below: its record from PostgreSQL.

export function botView(view: HTMLElement, feed: FleetFeed, namespace: string, name: string): () => void {
  const key = `${namespace}/${name}`;
  const details = el("div");
  const message = el("p", { role: "status" });
  const allowed = { halt: false, resume: false, acknowledge: false };
  const record = botRecordView(namespace, name);

  const haltReason = el("input", { name: "reason", required: true, maxlength: "256" });
  const haltButton = el("button", { type: "submit", class: "danger", disabled: true }, "Halt");
  const resumeButton = el("button", { type: "button", disabled: true }, "Resume");
  const ackInput = el("input", { name: "haltId", required: true, autocomplete: "off" });
  const ackButton = el("button", { type: "submit", disabled: true }, "Acknowledge");

  const act = async (action: () => Promise<BotSummary>, done: string) => {
    try {
      const bot = await action();
      feed.bots.set(key, bot);
      replace(message, done);
      render();
    } catch (error) {
      replace(
        message,
        el("span", { class: "error" }, error instanceof ApiError ? error.message : String(error)),
      );
    }
  };
  resumeButton.addEventListener("click", () => void act(() => api.resume(namespace, name), "Resumed."));

  const render = () => {
    const bot = feed.bots.get(key);
    if (bot === undefined) {
      replace(details, el("p", {}, `No bot ${key} that you may see (yet).`));
      return;
    }
    const halted = bot.halt?.engaged === true;
    haltButton.disabled = !allowed.halt || halted;
    resumeButton.disabled = !allowed.resume || !halted || bot.halt?.requiresAck === true;
    ackButton.disabled = !allowed.acknowledge || bot.halt?.requiresAck !== true;
    replace(
      details,
      el(
        "dl",
        { "aria-label": "Status" },
        el("dt", {}, "Phase"),
        el("dd", { class: `phase-${bot.phase}`, "data-testid": "phase" }, bot.phase),
        el("dt", {}, "Mode"),
        el("dd", {}, bot.mode),
        el("dt", {}, "Symbol"),
        el("dd", {}, bot.symbol),
        el("dt", {}, "Strategy"),
        el("dd", {}, bot.strategy),
        el("dt", {}, "Open orders"),
        el("dd", {}, bot.openOrders ?? ""),
        el("dt", {}, "Position"),
        el("dd", {}, bot.position ?? ""),
        el("dt", {}, "Realized PnL"),
        el("dd", {}, bot.realizedPnl ?? ""),
        el("dt", {}, "Heartbeat"),
        el("dd", {}, formatTime(bot.heartbeat)),
        el("dt", {}, "Halt"),
        el(
          "dd",
          { "data-testid": "halt" },
          halted
            ? `${bot.halt?.source ?? ""}${bot.halt?.by ? ` by ${bot.halt.by}` : ""} since ${formatTime(bot.halt?.since)}: ${bot.halt?.reason ?? ""}${bot.halt?.stoppedBy ? ` (trading stopped by the ${bot.halt.stoppedBy === "Runtime" ? "runtime's own watch" : "operator"})` : ""}`
            : "not halted",
        ),
        bot.halt?.requiresAck ? el("dt", {}, "Risk halt id") : undefined,
        bot.halt?.requiresAck ? el("dd", { "data-testid": "halt-id" }, bot.halt.id ?? "") : undefined,
      ),
      el("h2", {}, "Conditions"),
      el(
        "table",
        { "aria-label": "Conditions" },
        el("thead", {}, el("tr", {}, ...["Type", "Status", "Reason", "Message"].map((t) => el("th", {}, t)))),
        el(
          "tbody",
          {},
          ...bot.conditions.map((c) =>
            el(
              "tr",
              {},
              el("td", {}, c.type),
              el("td", {}, c.status),
              el("td", {}, c.reason ?? ""),
              el("td", {}, c.message ?? ""),
            ),
          ),
        ),
      ),
    );
  };

  replace(
    view,
    el("p", {}, el("a", { href: "#/fleet" }, "Fleet"), ` / ${namespace}`),
    el("h1", {}, name),
    details,
    el(
      "section",
      { class: "actions" },
      form(
        { "aria-label": "Halt" },
        () => act(() => api.halt(namespace, name, haltReason.value), "Halted."),
        field("Reason", haltReason),
        haltButton,
      ),
      resumeButton,
      form(
        { "aria-label": "Acknowledge risk halt" },
        () => act(() => api.acknowledge(namespace, name, ackInput.value), "Acknowledged."),
        field("Type the risk halt's id", ackInput),
        ackButton,
      ),
    ),
    message,
    record.element,
  );
  render();
  void api.bot(namespace, name).then(
    (bot) => {
      feed.bots.set(key, bot);
      render();
    },
    () => {},
  );
  void api.botPermissions(namespace, name).then(
    (permissions) => {
      Object.assign(allowed, permissions);
      render();
    },
    () => {},
  );
  const unsubscribe = feed.subscribe(render);
  return () => {
    unsubscribe();
    record.stop();
  };
}
