// The Prometheus alerts shipped with the chart (PrometheusRule) and in config/prometheus/. Every metric
// named here is one the operator (operator/ops/metrics.ts) or the bot runtime
// (bot-runtime/observability/metrics.ts) exports; test/chart/monitoring.test.ts holds them to that.
//
// Labels the expressions rely on: `namespace` and `pod` come from the scrape (ServiceMonitor, PodMonitor);
// `bot` is the bot pod's trading.botops.dev/bot label, copied by the chart's PodMonitor relabeling.

export interface AlertRule {
  alert: string;
  expr: string;
  /** How long the condition must hold; left out: alert at once. */
  for?: string;
  severity: "critical" | "warning" | "info";
  summary: string;
  description: string;
}

export interface AlertGroup {
  name: string;
  rules: AlertRule[];
}

/** A per-bot operator series (labels `bot_namespace`, `bot`); every replica reports it, hence `max by`. */
function perBot(metric: string): string {
  return `max by (bot_namespace, bot) (${metric})`;
}

/** One operator replica leads; the others report the same fleet gauges, hence `max by` over replicas. */
export const ALERT_GROUPS: AlertGroup[] = [
  {
    name: "tradingbot-operator",
    rules: [
      {
        alert: "TradingBotOperatorAbsent",
        expr: "absent(tradingbot_operator_leader)",
        for: "10m",
        severity: "critical",
        summary: "Prometheus has no metrics from tradingbot-operator.",
        description:
          "No tradingbot-operator instance has been scraped for 10 minutes. If the operator is down, " +
          "TradingBots are not reconciled and kill switches are not enforced on new changes.",
      },
      {
        alert: "TradingBotOperatorNoLeader",
        expr: "sum by (namespace) (tradingbot_operator_leader) < 1",
        for: "5m",
        severity: "critical",
        summary: "No tradingbot-operator replica holds the leader Lease.",
        description:
          "No replica of the operator in {{ $labels.namespace }} has led for 5 minutes: TradingBots are " +
          "not reconciled and kill switches are not enforced. Check the operator's logs and its Lease.",
      },
      {
        alert: "TradingBotOperatorSeveralLeaders",
        expr: "sum by (namespace) (tradingbot_operator_leader) > 1",
        for: "2m",
        severity: "critical",
        summary: "More than one tradingbot-operator replica reconciles.",
        description:
          "{{ $value }} replicas in {{ $labels.namespace }} report that they lead. Two leaders could run " +
          "two pods for one bot; check that leader election is on and the nodes' clocks agree.",
      },
      {
        alert: "TradingBotOperatorReconcileErrors",
        expr: 'sum by (namespace, controller) (rate(tradingbot_operator_reconcile_total{result="error"}[5m])) > 0',
        for: "15m",
        severity: "warning",
        summary: "tradingbot-operator keeps failing to reconcile {{ $labels.controller }}s.",
        description:
          "{{ $labels.controller }} reconciles have failed for 15 minutes " +
          "({{ $value | humanize }} errors per second). Halts and restarts may be delayed; the operator's " +
          'log says which object and why ("reconcile failed").',
      },
      {
        alert: "TradingBotOperatorWatchRestarts",
        expr: 'sum by (namespace, resource) (increase(tradingbot_operator_watch_restarts_total{reason="error"}[15m])) > 3',
        for: "5m",
        severity: "warning",
        summary: "tradingbot-operator cannot keep its watch on {{ $labels.resource }} open.",
        description:
          "The watch on {{ $labels.resource }} failed {{ $value | humanize }} times in 15 minutes. While it " +
          "is down the operator acts on a stale view: new kill switches may be noticed late. Check the " +
          "connection to the API server and its NetworkPolicy.",
      },
      {
        alert: "TradingBotHalted",
        expr: "max by (namespace, source) (tradingbot_operator_halted_bots) > 0",
        for: "1m",
        severity: "info",
        summary: "{{ $value }} TradingBots are halted by {{ $labels.source }}.",
        description:
          "Halted bots do not trade: `kubectl get tradingbots -A` shows them with the reason of each " +
          "halt. Resume a bot by releasing what halted it (its spec.killSwitch, a KillSwitch, or an " +
          "acknowledged risk halt).",
      },
      {
        alert: "TradingBotRiskHaltLatched",
        expr: 'max by (namespace) (tradingbot_operator_halted_bots{source="Risk"}) > 0',
        for: "1m",
        severity: "warning",
        summary: "{{ $value }} TradingBots stopped themselves on a risk limit.",
        description:
          "A risk halt latches: the bot stays halted until someone sets spec.killSwitch.acknowledgeHalt " +
          "to the id in its status.halt.id. Find them with `kubectl get tradingbots -A`.",
      },
      {
        alert: "TradingBotCredentialsRotationDue",
        // The same comparison as the bot's CredentialsRotationDue condition: age past the schedule.
        expr: `${perBot("tradingbot_credentials_age_seconds")} > ${perBot("tradingbot_credentials_rotation_period_seconds")}`,
        severity: "warning",
        summary:
          "The exchange key of bot {{ $labels.bot_namespace }}/{{ $labels.bot }} is older than its rotation schedule.",
        description:
          "Its credentials Secret has held the same data for {{ $value | humanizeDuration }}, longer than " +
          "spec.exchange.rotateCredentialsEvery (condition CredentialsRotationDue). Create a new key at the " +
          "exchange, put it in the Secret (the bot restarts on it), check the bot is Ready, then revoke the " +
          "old key: docs/operations.md, Key rotation.",
      },
      {
        alert: "TradingBotDegraded",
        expr: 'max by (namespace) (tradingbot_operator_bots{phase="Degraded"}) > 0',
        for: "10m",
        severity: "warning",
        summary: "{{ $value }} TradingBots have been Degraded for 10 minutes.",
        description:
          "Their conditions say why (missing credentials, an unreachable runtime, a crashing pod): " +
          "`kubectl get tradingbots -A` and `kubectl describe tradingbot`.",
      },
    ],
  },
  {
    name: "tradingbot-runtime",
    rules: [
      {
        alert: "TradingBotRiskEvent",
        expr: "sum by (namespace, bot, limit) (increase(tradingbot_runtime_risk_events_total[5m])) > 0",
        severity: "warning",
        summary: "Bot {{ $labels.namespace }}/{{ $labels.bot }} hit its {{ $labels.limit }} limit.",
        description:
          "The risk gate refused orders or halted the bot on {{ $labels.limit }}. A halting limit (daily " +
          "loss, drawdown) latches the halt until it is acknowledged.",
      },
      {
        alert: "TradingBotHeartbeatStale",
        expr:
          "(time() - max by (namespace, bot) (tradingbot_runtime_last_heartbeat_timestamp_seconds) > 120) " +
          "and max by (namespace, bot) (tradingbot_runtime_last_heartbeat_timestamp_seconds) > 0",
        for: "2m",
        severity: "critical",
        summary:
          "Bot {{ $labels.namespace }}/{{ $labels.bot }} has not completed a trading tick for over 2 minutes.",
        description:
          "Its trading loop is stuck while its pod runs: open orders are not being managed. Halt it " +
          "(`kubectl patch tradingbot {{ $labels.bot }} -n {{ $labels.namespace }} --type merge -p " +
          '\'{"spec":{"killSwitch":{"engaged":true,"reason":"stale heartbeat"}}}\'`) and read its logs.',
      },
      {
        alert: "TradingBotDatabaseDown",
        expr: "max by (namespace, bot) (tradingbot_runtime_database_up) == 0",
        for: "2m",
        severity: "critical",
        summary: "Bot {{ $labels.namespace }}/{{ $labels.bot }} cannot reach its database.",
        description:
          "The runtime fails closed without its database: it places no orders and cannot write its audit " +
          "trail. Check the database and the bot's NetworkPolicy.",
      },
      {
        alert: "TradingBotExchangeBanned",
        expr: 'sum by (namespace, bot) (increase(tradingbot_runtime_rate_limit_hits_total{status="418"}[5m])) > 0',
        severity: "critical",
        summary: "The exchange banned the IP of bot {{ $labels.namespace }}/{{ $labels.bot }}.",
        description:
          "HTTP 418: every request is refused until the ban ends, including cancellations. Bots sharing " +
          "the egress IP share the ban; lower their request rates.",
      },
    ],
  },
];

/** The rule groups in Prometheus' rule-file shape (also the spec of a PrometheusRule). */
export function prometheusRuleGroups() {
  return {
    groups: ALERT_GROUPS.map((group) => ({
      name: group.name,
      rules: group.rules.map((rule) => ({
        alert: rule.alert,
        expr: rule.expr,
        ...(rule.for === undefined ? {} : { for: rule.for }),
        labels: { severity: rule.severity },
        annotations: { summary: rule.summary, description: rule.description },
      })),
    })),
  };
}
