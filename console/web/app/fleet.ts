import type { BotPhase } from "../../../api/v1alpha1/tradingbot.ts";
import { ApiError, api, type BotSummary, type FleetFeed, scopeText } from "./api.ts";
import { el, field, form, formatTime, replace } from "./dom.ts";

// The fleet: every bot the person may see, changing live from the stream; a fleet halt (a KillSwitch over
// namespaces or labels) confirmed by typing its scope.

// Every phase, checked by the compiler against the API's list (a type import: no schema code in the page).
const PHASES = Object.keys({
  Pending: true,
  Running: true,
  Halting: true,
  Halted: true,
  Degraded: true,
  Terminating: true,
} satisfies Record<BotPhase, true>);

function haltText(bot: BotSummary): string {
  if (!bot.halt?.engaged) return "";
  const by = bot.halt.by ? ` by ${bot.halt.by}` : "";
  return `${bot.halt.source ?? "halted"}${by}: ${bot.halt.reason ?? ""}`;
}

function botRow(bot: BotSummary): HTMLTableRowElement {
  const href = `#/bots/${encodeURIComponent(bot.namespace)}/${encodeURIComponent(bot.name)}`;
  return el(
    "tr",
    { "data-bot": `${bot.namespace}/${bot.name}` },
    el("td", {}, bot.namespace),
    el("td", {}, el("a", { href }, bot.name)),
    el("td", {}, bot.mode),
    el("td", {}, bot.symbol),
    el("td", {}, bot.strategy),
    el("td", { class: `phase-${bot.phase}`, "data-col": "phase" }, bot.phase),
    el("td", { "data-col": "halt" }, haltText(bot)),
    el("td", {}, bot.openOrders ?? ""),
    el("td", {}, bot.position ?? ""),
    el("td", {}, bot.realizedPnl ?? ""),
    el("td", {}, formatTime(bot.heartbeat)),
  );
}

export function fleetView(view: HTMLElement, feed: FleetFeed): () => void {
  const namespace = el("select", { name: "namespace", "aria-label": "Namespace" });
  const phase = el("select", { name: "phase", "aria-label": "Phase" });
  phase.append(el("option", { value: "" }, "every phase"));
  for (const value of PHASES) phase.append(el("option", { value }, value));
  const body = el("tbody");
  const count = el("p", { "data-testid": "fleet-count" });

  // Rows are kept per bot and rebuilt only when that bot changed, and changes arriving together (the
  // stream's first snapshot is one event per bot) are drawn once, at the next frame: a fleet of a
  // thousand bots is drawn once on load and one row at a time after that.
  const rows = new Map<string, { signature: string; row: HTMLTableRowElement }>();
  const rowOf = (bot: BotSummary) => {
    const key = `${bot.namespace}/${bot.name}`;
    const signature = JSON.stringify(bot);
    const kept = rows.get(key);
    if (kept?.signature === signature) return kept.row;
    const row = botRow(bot);
    rows.set(key, { signature, row });
    return row;
  };
  let shownNamespaces = "";
  const render = () => {
    for (const key of rows.keys()) if (!feed.bots.has(key)) rows.delete(key);
    const namespaces = [...new Set([...feed.bots.values()].map((bot) => bot.namespace))].sort();
    const chosen = namespace.value;
    if (namespaces.join("\n") !== shownNamespaces) {
      shownNamespaces = namespaces.join("\n");
      replace(
        namespace,
        el("option", { value: "" }, "every namespace"),
        ...namespaces.map((ns) => el("option", { value: ns, selected: ns === chosen }, ns)),
      );
    }
    const bots = [...feed.bots.values()]
      .filter(
        (bot) =>
          (chosen === "" || bot.namespace === chosen) && (phase.value === "" || bot.phase === phase.value),
      )
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
    const wanted = bots.map(rowOf);
    const shown = [...body.children];
    // The same bots in the same order: swap only the rows that changed; otherwise lay the table out again.
    const sameLayout =
      shown.length === wanted.length && wanted.every((row, i) => row === shown[i] || !row.isConnected);
    if (sameLayout) {
      wanted.forEach((row, i) => {
        if (row !== shown[i]) shown[i]?.replaceWith(row);
      });
    } else {
      body.replaceChildren(...wanted);
    }
    replace(count, `${bots.length} of ${feed.bots.size} bots`);
  };
  let drawPending = false;
  const renderSoon = () => {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      render();
    });
  };
  namespace.addEventListener("change", render);
  phase.addEventListener("change", render);

  replace(
    view,
    el("h1", {}, "Fleet"),
    el("div", { class: "filters" }, field("Namespace", namespace), field("Phase", phase)),
    count,
    el(
      "table",
      { "aria-label": "Fleet" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...[
            "Namespace",
            "Name",
            "Mode",
            "Symbol",
            "Strategy",
            "Phase",
            "Halted",
            "Open orders",
            "Position",
            "PnL",
            "Heartbeat",
          ].map((title) => el("th", {}, title)),
        ),
      ),
      body,
    ),
    fleetHaltForm(),
  );
  render();
  return feed.subscribe(renderSoon);
}

function fleetHaltForm(): HTMLElement {
  const message = el("p", { role: "status" });
  const submit = el("button", { type: "submit", class: "danger", disabled: true }, "Halt the fleet");
  const scope = el("p", { class: "notice" });
  const inputs = {
    name: el("input", { name: "name", required: true, pattern: "[a-z0-9]([-a-z0-9]*[a-z0-9])?" }),
    namespaces: el("input", { name: "namespaces", placeholder: "team-a,team-b" }),
    labels: el("input", { name: "labels", placeholder: "tier=live" }),
    reason: el("input", { name: "reason", required: true, maxlength: "256" }),
    confirm: el("input", { name: "confirmScope", required: true, autocomplete: "off" }),
  };
  const parsed = () => {
    const namespaces = inputs.namespaces.value
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const matchLabels = Object.fromEntries(
      inputs.labels.value
        .split(",")
        .map((pair) => pair.trim())
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)]),
    );
    return { namespaces, matchLabels, text: scopeText(namespaces, matchLabels) };
  };
  const showScope = () => replace(scope, `Type the scope to confirm: ${parsed().text}`);
  inputs.namespaces.addEventListener("input", showScope);
  inputs.labels.addEventListener("input", showScope);
  showScope();
  void api.killSwitchPermissions().then(
    (allowed) => {
      submit.disabled = !allowed.create;
      if (!allowed.create) submit.title = "Your Kubernetes RBAC does not allow creating KillSwitches";
    },
    () => {},
  );
  return el(
    "section",
    {},
    el("h2", {}, "Fleet halt"),
    form(
      { "aria-label": "Fleet halt" },
      async () => {
        const { namespaces, matchLabels } = parsed();
        try {
          const created = await api.createKillSwitch({
            name: inputs.name.value,
            reason: inputs.reason.value,
            ...(namespaces.length > 0 ? { namespaces } : {}),
            ...(Object.keys(matchLabels).length > 0 ? { selector: { matchLabels } } : {}),
            confirmScope: inputs.confirm.value,
          });
          replace(message, `KillSwitch ${created.name} engaged.`);
        } catch (error) {
          replace(
            message,
            el("span", { class: "error" }, error instanceof ApiError ? error.message : String(error)),
          );
        }
      },
      field("KillSwitch name", inputs.name),
      field("Namespaces", inputs.namespaces),
      field("Labels", inputs.labels),
      field("Reason", inputs.reason),
      field("Confirm scope", inputs.confirm),
      submit,
    ),
    scope,
    message,
  );
}
