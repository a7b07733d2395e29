// The Grafana dashboard shipped with the chart (a ConfigMap for Grafana's dashboard sidecar) and in
// config/grafana/. Three rows: the fleet as the operator sees it, the operator itself, and each bot as its
// runtime reports it. Metric names are checked against the real registries by test/chart/monitoring.test.ts.

export const DASHBOARD_UID = "tradingbot-operator";

type Unit = "short" | "s" | "percentunit" | "reqps" | "ops" | "none" | "dateTimeFromNow";

interface PanelSpec {
  title: string;
  description: string;
  kind: "timeseries" | "stat";
  unit: Unit;
  /** PromQL and the legend of each series. */
  targets: { expr: string; legend: string }[];
  width: number;
  height?: number;
}

const BOT = 'namespace=~"$namespace", bot=~"$bot"';

const ROWS: { title: string; panels: PanelSpec[] }[] = [
  {
    title: "Fleet",
    panels: [
      {
        title: "Bots by phase",
        description: "TradingBots by status phase, as the operator's cache holds them.",
        kind: "stat",
        unit: "short",
        targets: [{ expr: "max by (phase) (tradingbot_operator_bots)", legend: "{{phase}}" }],
        width: 8,
      },
      {
        title: "Halted bots by source",
        description: "Halted TradingBots by what halted them: Spec, KillSwitch or Risk.",
        kind: "stat",
        unit: "short",
        targets: [{ expr: "max by (source) (tradingbot_operator_halted_bots)", legend: "{{source}}" }],
        width: 8,
      },
      {
        title: "Operator replicas leading",
        description: "Exactly 1 when healthy: 0 means nothing reconciles, more than 1 is split brain.",
        kind: "stat",
        unit: "short",
        targets: [{ expr: "sum by (namespace) (tradingbot_operator_leader)", legend: "{{namespace}}" }],
        width: 8,
      },
      {
        title: "Halts and resumes",
        description: "Halts started by source kind, and halted bots released.",
        kind: "timeseries",
        unit: "short",
        targets: [
          {
            expr: "sum by (source) (increase(tradingbot_operator_halts_total[$__rate_interval]))",
            legend: "halt {{source}}",
          },
          { expr: "sum(increase(tradingbot_operator_resumes_total[$__rate_interval]))", legend: "resume" },
        ],
        width: 24,
      },
    ],
  },
  {
    title: "Operator",
    panels: [
      {
        title: "Reconciles",
        description: "Reconciles per second by controller and result.",
        kind: "timeseries",
        unit: "ops",
        targets: [
          {
            expr: "sum by (controller, result) (rate(tradingbot_operator_reconcile_total[$__rate_interval]))",
            legend: "{{controller}} {{result}}",
          },
        ],
        width: 12,
      },
      {
        title: "Reconcile duration (p99)",
        description: "99th percentile of reconcile duration by controller.",
        kind: "timeseries",
        unit: "s",
        targets: [
          {
            expr:
              "histogram_quantile(0.99, sum by (controller, le) " +
              "(rate(tradingbot_operator_reconcile_duration_seconds_bucket[$__rate_interval])))",
            legend: "{{controller}}",
          },
        ],
        width: 12,
      },
      {
        title: "Work queues",
        description: "Keys waiting, and keys retried with backoff after a failed reconcile.",
        kind: "timeseries",
        unit: "short",
        targets: [
          { expr: "max by (queue) (tradingbot_operator_workqueue_depth)", legend: "{{queue}} depth" },
          {
            expr: "sum by (queue) (rate(tradingbot_operator_workqueue_retries_total[$__rate_interval]))",
            legend: "{{queue}} retries/s",
          },
        ],
        width: 8,
      },
      {
        title: "Watch restarts",
        description: "Watch restarts by resource and reason; closed is routine, error is not.",
        kind: "timeseries",
        unit: "short",
        targets: [
          {
            expr: "sum by (resource, reason) (increase(tradingbot_operator_watch_restarts_total[$__rate_interval]))",
            legend: "{{resource}} {{reason}}",
          },
        ],
        width: 8,
      },
      {
        title: "Runtime polls",
        description: "Polls of the bots' /status endpoints by result.",
        kind: "timeseries",
        unit: "ops",
        targets: [
          {
            expr: "sum by (result) (rate(tradingbot_operator_runtime_polls_total[$__rate_interval]))",
            legend: "{{result}}",
          },
        ],
        width: 8,
      },
      {
        title: "Kubernetes API requests",
        description: "Requests to the API server by verb and HTTP code.",
        kind: "timeseries",
        unit: "reqps",
        targets: [
          {
            expr: "sum by (verb, code) (rate(tradingbot_operator_api_requests_total[$__rate_interval]))",
            legend: "{{verb}} {{code}}",
          },
        ],
        width: 12,
      },
      {
        title: "Kubernetes API latency (p99)",
        description: "99th percentile of API request latency by verb.",
        kind: "timeseries",
        unit: "s",
        targets: [
          {
            expr:
              "histogram_quantile(0.99, sum by (verb, le) " +
              "(rate(tradingbot_operator_api_request_duration_seconds_bucket[$__rate_interval])))",
            legend: "{{verb}}",
          },
        ],
        width: 12,
      },
    ],
  },
  {
    title: "Bots",
    panels: [
      {
        title: "Realized PnL",
        description: "Realized profit and loss in the quote currency.",
        kind: "timeseries",
        unit: "none",
        targets: [
          {
            expr: `max by (namespace, bot) (tradingbot_runtime_realized_pnl_quote{${BOT}})`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 12,
      },
      {
        title: "Equity",
        description: "Quote balance plus position at the last price.",
        kind: "timeseries",
        unit: "none",
        targets: [
          {
            expr: `max by (namespace, bot) (tradingbot_runtime_equity_quote{${BOT}})`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 12,
      },
      {
        title: "Position",
        description: "Position held, in the base currency.",
        kind: "timeseries",
        unit: "none",
        targets: [
          {
            expr: `max by (namespace, bot) (tradingbot_runtime_position_base{${BOT}})`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 8,
      },
      {
        title: "Open orders",
        description: "Open orders of each bot.",
        kind: "timeseries",
        unit: "short",
        targets: [
          {
            expr: `max by (namespace, bot) (tradingbot_runtime_open_orders{${BOT}})`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 8,
      },
      {
        title: "Heartbeat age",
        description: "Time since the trading loop last completed a tick.",
        kind: "timeseries",
        unit: "s",
        targets: [
          {
            expr: `time() - max by (namespace, bot) (tradingbot_runtime_last_heartbeat_timestamp_seconds{${BOT}})`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 8,
      },
      {
        title: "Orders",
        description: "Orders per second by side, type and result.",
        kind: "timeseries",
        unit: "ops",
        targets: [
          {
            expr: `sum by (side, type, result) (rate(tradingbot_runtime_orders_total{${BOT}}[$__rate_interval]))`,
            legend: "{{side}} {{type}} {{result}}",
          },
        ],
        width: 12,
      },
      {
        title: "Fills",
        description: "Fills per second by side.",
        kind: "timeseries",
        unit: "ops",
        targets: [
          {
            expr: `sum by (side) (rate(tradingbot_runtime_fills_total{${BOT}}[$__rate_interval]))`,
            legend: "{{side}}",
          },
        ],
        width: 12,
      },
      {
        title: "Risk events",
        description: "Risk events by limit: refused orders and halts.",
        kind: "timeseries",
        unit: "short",
        targets: [
          {
            expr: `sum by (namespace, bot, limit) (increase(tradingbot_runtime_risk_events_total{${BOT}}[$__rate_interval]))`,
            legend: "{{namespace}}/{{bot}} {{limit}}",
          },
        ],
        width: 8,
      },
      {
        title: "Exchange errors",
        description: "Failed exchange calls by code, and rate-limit answers (429, 418).",
        kind: "timeseries",
        unit: "short",
        targets: [
          {
            expr: `sum by (code) (increase(tradingbot_runtime_exchange_errors_total{${BOT}}[$__rate_interval]))`,
            legend: "{{code}}",
          },
          {
            expr: `sum by (status) (increase(tradingbot_runtime_rate_limit_hits_total{${BOT}}[$__rate_interval]))`,
            legend: "HTTP {{status}}",
          },
        ],
        width: 8,
      },
      {
        title: "Order round trip (p99)",
        description: "99th percentile of the time from sending an order to the exchange's answer.",
        kind: "timeseries",
        unit: "s",
        targets: [
          {
            expr:
              "histogram_quantile(0.99, sum by (namespace, bot, le) " +
              `(rate(tradingbot_runtime_order_round_trip_seconds_bucket{${BOT}}[$__rate_interval])))`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 8,
      },
      {
        title: "Request weight used",
        description: "Exchange request weight used in the current minute, as last reported.",
        kind: "timeseries",
        unit: "short",
        targets: [
          {
            expr: `max by (namespace, bot) (tradingbot_runtime_request_weight_used{${BOT}})`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 12,
      },
      {
        title: "Database up",
        description: "1 while the bot reaches its database; 0 while it fails closed.",
        kind: "timeseries",
        unit: "short",
        targets: [
          {
            expr: `min by (namespace, bot) (tradingbot_runtime_database_up{${BOT}})`,
            legend: "{{namespace}}/{{bot}}",
          },
        ],
        width: 12,
      },
    ],
  },
];

// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, read by Grafana.
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
const DEFAULT_HEIGHT = 8;
const GRID_WIDTH = 24;

function panel(spec: PanelSpec, id: number, x: number, y: number) {
  return {
    id,
    type: spec.kind,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos: { x, y, w: spec.width, h: spec.height ?? DEFAULT_HEIGHT },
    fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
    options:
      spec.kind === "stat"
        ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false }, textMode: "value_and_name" }
        : {
            legend: { displayMode: "list", placement: "bottom", showLegend: true },
            tooltip: { mode: "multi" },
          },
    targets: spec.targets.map((target, index) => ({
      datasource: DATASOURCE,
      expr: target.expr,
      legendFormat: target.legend,
      refId: String.fromCharCode(65 + index),
    })),
  };
}

/** Panels flow left to right and wrap at the grid's width; each row starts on a line of its own. */
function layout() {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({
      id: id++,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { x: 0, y, w: 24, h: 1 },
      panels: [],
    });
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const spec of row.panels) {
      if (x + spec.width > GRID_WIDTH) {
        x = 0;
        y += lineHeight;
        lineHeight = 0;
      }
      panels.push(panel(spec, id++, x, y));
      x += spec.width;
      lineHeight = Math.max(lineHeight, spec.height ?? DEFAULT_HEIGHT);
    }
    y += lineHeight;
  }
  return panels;
}

function queryVariable(name: string, label: string, query: string) {
  return {
    name,
    label,
    type: "query",
    datasource: DATASOURCE,
    query: { query, refId: `${name}-variable` },
    definition: query,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: ".*",
    current: { selected: true, text: ["All"], value: ["$__all"] },
    sort: 1,
  };
}

export function grafanaDashboard() {
  return {
    uid: DASHBOARD_UID,
    title: "Trading bots",
    description: "tradingbot-operator: the fleet, the operator, and every bot's trading.",
    tags: ["tradingbot-operator", "trading"],
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    timezone: "utc",
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: {},
          hide: 0,
        },
        queryVariable(
          "namespace",
          "Bot namespace",
          "label_values(tradingbot_runtime_open_orders, namespace)",
        ),
        queryVariable(
          "bot",
          "Bot",
          'label_values(tradingbot_runtime_open_orders{namespace=~"$namespace"}, bot)',
        ),
      ],
    },
    annotations: { list: [] },
    panels: layout(),
  };
}

/** Every PromQL expression of the dashboard, panels and variables. */
export function dashboardExpressions(): string[] {
  return [
    ...ROWS.flatMap((row) => row.panels.flatMap((spec) => spec.targets.map((target) => target.expr))),
    ...grafanaDashboard()
      .templating.list.filter((variable) => variable.type === "query")
      .map((variable) => (variable as { definition: string }).definition),
  ];
}
