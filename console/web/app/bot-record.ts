import { ApiError, type AuditPage, api, type ChainAnchorCheck, type HaltView } from "./api.ts";
import { el, formatTime, on, replace } from "./dom.ts";
import { PnlChart } from "./pnl-chart.ts";

// A bot's record from PostgreSQL, below its status: open orders, recent fills, the equity and PnL chart,
// risk events, halts, and the audit trail with the check of its hash chain, held to the chain head the
// API server anchored (status.audit). Read through the console's
// read-only database role, for a bot the API server lets the person get. Polled while the page is open
// (the live stream carries the TradingBot, not its rows).

const REFRESH_MS = 10_000;
const CHART_RANGES: Record<string, number> = {
  "1 hour": 3_600_000,
  "1 day": 86_400_000,
  "7 days": 604_800_000,
};

function table(label: string, headings: string[], rows: (string | number | Node)[][], empty: string) {
  if (rows.length === 0) return el("p", { class: "muted", "data-testid": `${label}-empty` }, empty);
  return el(
    "table",
    { "aria-label": label, "data-testid": label },
    el("thead", {}, el("tr", {}, ...headings.map((heading) => el("th", {}, heading)))),
    el("tbody", {}, ...rows.map((cells) => el("tr", {}, ...cells.map((cell) => el("td", {}, cell))))),
  );
}

const errorText = (error: unknown) => (error instanceof ApiError ? error.message : String(error));

/** The anchor's line: a mismatch must read as loudly as a broken chain, no anchor as a plain fact. */
function anchorLine(check: ChainAnchorCheck): HTMLElement {
  const attributes = (kind: string) => ({ class: kind, "data-anchor": check.result });
  switch (check.result) {
    case "none":
      return el(
        "span",
        attributes("muted"),
        "No anchor yet: the API server has no chain head for this bot (status.audit), so the chain is checked only against itself.",
      );
    case "unreadable":
      return el(
        "span",
        attributes("error"),
        "The bot's status.audit does not parse: the chain cannot be checked against the API server.",
      );
    case "matches":
      return el(
        "span",
        attributes("ok"),
        `Verified against the anchor in the API server at sequence ${check.sequence} (recorded ${formatTime(check.anchoredAt)}): the database has its hash.`,
      );
    case "differs":
      return el(
        "span",
        attributes("error"),
        `Anchor MISMATCH at sequence ${check.sequence}: database hash ${check.databaseHash}, anchored hash ${check.hash} (recorded ${formatTime(check.anchoredAt)}). The audit log was changed after the API server anchored it.`,
      );
    case "missing":
      return el(
        "span",
        attributes("error"),
        check.databaseEndsAt < check.sequence
          ? `Anchor MISSING: the database ends at sequence ${check.databaseEndsAt}, but the API server anchored sequence ${check.sequence} (hash ${check.hash}, recorded ${formatTime(check.anchoredAt)}). Rows were removed.`
          : `Anchor MISSING: the database has no row at the anchored sequence ${check.sequence} (hash ${check.hash}).`,
      );
    case "pruned":
      return el(
        "span",
        attributes("muted"),
        `The anchor at sequence ${check.sequence} is older than what audit retention kept (the chain starts after ${check.prunedThrough}): not checked.`,
      );
    case "unverified":
      return el(
        "span",
        attributes("error"),
        `The database has the anchored hash at sequence ${check.sequence}, but the chain is broken at sequence ${check.brokenAt}, before it: not verified.`,
      );
  }
}

function haltSummary(halt: HaltView): string {
  return [halt.haltId ? `id ${halt.haltId}` : "", halt.noticedBy ? `noticed by ${halt.noticedBy}` : ""]
    .filter(Boolean)
    .join(", ");
}

export function botRecordView(namespace: string, name: string): { element: HTMLElement; stop(): void } {
  const notice = el("p", { role: "status" });
  const orders = el("div");
  const fills = el("div");
  const risk = el("div");
  const halts = el("div");
  const chart = new PnlChart();
  const chartMessage = el("p");
  const rangeSelect = el(
    "select",
    { name: "range", "aria-label": "Chart range" },
    ...Object.keys(CHART_RANGES).map((label) => el("option", { selected: label === "1 day" }, label)),
  );
  const chain = el("p", { "data-testid": "audit-chain" });
  const anchor = el("p", { "data-testid": "audit-anchor" });
  const auditBody = el("tbody");
  const olderButton = el("button", { type: "button", hidden: true }, "Older entries");
  const recheckButton = el("button", { type: "button" }, "Check the chain again");
  let nextBefore: number | null = null;
  /** The rows to mark: where the chain breaks, and where the database differs from the anchor. */
  let flaggedSeqs = new Set<number>();
  let unavailable = false;

  const element = el(
    "div",
    { class: "record" },
    notice,
    el("section", {}, el("h2", {}, "Open orders"), orders),
    el("section", {}, el("h2", {}, "Recent fills"), fills),
    el(
      "section",
      {},
      el("h2", {}, "Equity and PnL"),
      el("div", { class: "filters" }, el("label", {}, "Range", rangeSelect)),
      chart.element,
      chartMessage,
    ),
    el("section", {}, el("h2", {}, "Risk events"), risk),
    el("section", {}, el("h2", {}, "Halts"), halts),
    el(
      "section",
      {},
      el("h2", {}, "Audit trail"),
      chain,
      anchor,
      el(
        "table",
        { "aria-label": "Audit trail", "data-testid": "audit" },
        el("thead", {}, el("tr", {}, ...["Seq", "Time", "Event", "Details"].map((t) => el("th", {}, t)))),
        auditBody,
      ),
      el("div", { class: "actions" }, olderButton, recheckButton),
    ),
  );

  /** A 503 means the console has no database (or lost it): say so once, instead of every section failing. */
  const failed = (target: HTMLElement, error: unknown) => {
    if (error instanceof ApiError && error.status === 503) {
      unavailable = true;
      replace(
        notice,
        el(
          "span",
          { class: "notice", "data-testid": "record-unavailable" },
          `Orders, fills, PnL and the audit trail are not available: ${error.message}`,
        ),
      );
      return;
    }
    replace(target, el("span", { class: "error" }, errorText(error)));
  };

  const loadTables = async () => {
    await Promise.all([
      api.botOrders(namespace, name).then(
        ({ items }) =>
          replace(
            orders,
            table(
              "orders",
              ["Created", "Side", "Type", "Price", "Amount", "Filled", "Status", "Slot", "Client id"],
              items.map((o) => [
                formatTime(o.createdAt),
                o.side,
                o.type,
                o.price ?? "market",
                o.amount,
                o.filled,
                o.status,
                o.slot,
                o.clientOrderId,
              ]),
              "No open orders.",
            ),
          ),
        (error) => failed(orders, error),
      ),
      api.botFills(namespace, name).then(
        ({ items }) =>
          replace(
            fills,
            table(
              "fills",
              ["Traded", "Side", "Price", "Amount", "Fee", "Trade id", "Order"],
              items.map((f) => [
                formatTime(f.tradedAt),
                f.side,
                f.price,
                f.amount,
                `${f.fee} ${f.feeCurrency}`,
                f.tradeId,
                f.clientOrderId,
              ]),
              "No fills yet.",
            ),
          ),
        (error) => failed(fills, error),
      ),
      api.botRiskEvents(namespace, name).then(
        ({ items }) =>
          replace(
            risk,
            table(
              "risk-events",
              ["Time", "Limit", "Halting", "Value", "Threshold", "Slot", "Message"],
              items.map((r) => [
                formatTime(r.at),
                r.limit,
                r.halting ? "yes" : "no",
                r.value,
                r.threshold,
                r.slot ?? "",
                r.message,
              ]),
              "No risk events.",
            ),
          ),
        (error) => failed(risk, error),
      ),
      api.botHalts(namespace, name).then(
        ({ items }) =>
          replace(
            halts,
            table(
              "halts",
              ["Time", "Source", "By", "Reason", "Details"],
              items.map((h) => [formatTime(h.at), h.source, h.by ?? "", h.reason, haltSummary(h)]),
              "Never halted.",
            ),
          ),
        (error) => failed(halts, error),
      ),
      api
        .botSnapshots(
          namespace,
          name,
          new Date(Date.now() - (CHART_RANGES[rangeSelect.value] ?? 86_400_000)).toISOString(),
        )
        .then(
          ({ since, items }) => {
            replace(chartMessage);
            chart.show(items, { from: Date.parse(since), to: Date.now() });
          },
          (error) => failed(chartMessage, error),
        ),
    ]);
  };

  const auditRows = (page: AuditPage) =>
    page.items.map((entry) =>
      el(
        "tr",
        { class: flaggedSeqs.has(entry.seq) ? "broken" : undefined, "data-seq": String(entry.seq) },
        el("td", {}, entry.seq),
        el("td", {}, formatTime(entry.at)),
        el("td", {}, entry.event),
        el("td", { class: "payload" }, JSON.stringify(entry.payload)),
      ),
    );

  const showChain = (page: AuditPage) => {
    const check = page.chain;
    if (check === undefined) return;
    flaggedSeqs = new Set([
      ...(check.intact ? [] : [check.brokenRow.seq]),
      ...(check.anchor.result === "differs" ? [check.anchor.sequence] : []),
    ]);
    replace(anchor, anchorLine(check.anchor));
    replace(
      chain,
      check.intact
        ? el("span", { class: "ok" }, `Hash chain intact: ${check.rows} rows checked.`)
        : el(
            "span",
            { class: "error" },
            `Hash chain BROKEN at row ${check.brokenRow.id} (seq ${check.brokenRow.seq}): ${check.reason}. ${check.rows} rows before it are intact.`,
          ),
    );
  };

  const loadAudit = async (before?: number) => {
    try {
      const page = await api.botAudit(namespace, name, before);
      showChain(page);
      if (before === undefined) replace(auditBody, ...auditRows(page));
      else auditBody.append(...auditRows(page));
      nextBefore = page.nextBefore;
      olderButton.hidden = nextBefore === null;
    } catch (error) {
      failed(chain, error);
    }
  };

  on(olderButton, "click", () => {
    if (nextBefore !== null) void loadAudit(nextBefore);
  });
  on(recheckButton, "click", () => void loadAudit());
  on(rangeSelect, "change", () => void loadTables());

  void loadTables();
  void loadAudit();
  const timer = setInterval(() => {
    if (!unavailable) void loadTables();
  }, REFRESH_MS);
  return {
    element,
    stop() {
      clearInterval(timer);
      chart.destroy();
    },
  };
}
