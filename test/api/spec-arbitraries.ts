// fast-check generators for TradingBot and KillSwitch specs: valid ones built field by field from the API's
// rules, and invalid ones made by mutating valid ones (wrong types, broken decimals, out-of-range numbers,
// swapped values that break cross-field rules, missing and unknown fields, mixed-up union members).
//
// Not generated, on purpose: JSON null. The API server drops a null where the schema does not allow one (null
// reads as "unset", so `killSwitch: null` gets the defaults), while zod refuses it. Objects read from the API
// server never hold such nulls, so the operator and the runtime never see the difference.
import fc from "fast-check";
import {
  ON_ENGAGE_ACTIONS,
  STRATEGY_TYPES,
  TIMEFRAMES,
  TRADING_MODES,
} from "../../api/v1alpha1/tradingbot.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type SpecObject = { [key: string]: Json };

/** An exact decimal string for units / 10^scale, as a user writes it ("12.5", never "1.25e1"). */
function decimalString(units: number, scale: number): string {
  const digits = String(units).padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}

const scale = fc.constantFrom(0, 2, 8);
/** A decimal in (0, max] with 0, 2 or 8 fractional digits. */
const positiveDecimal = (max: number) =>
  scale.chain((s) => fc.integer({ min: 1, max: max * 10 ** s }).map((units) => decimalString(units, s)));

const dnsLabel = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
const secretRef = fc.record({ name: dnsLabel });
// Any code point: both sides count length in code points, not UTF-16 units.
const freeText = (maxLength: number) => fc.string({ unit: "binary", maxLength });
const labelKey = fc.oneof(
  fc.constantFrom("app", "team", "example.com/tier", "kubernetes.io/os"),
  fc.stringMatching(/^[a-z]{1,12}$/),
);
const labelValue = fc.oneof(fc.constantFrom("", "bot", "research-1"), fc.stringMatching(/^[a-z0-9]{1,12}$/));
const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 4 });

const host = fc.constantFrom("exchange-sim.trading.svc", "127.0.0.1", "sim", "[::1]", "api.example.com");
const endpoint = (schemes: string[]) =>
  fc
    .record({
      scheme: fc.constantFrom(...schemes),
      host,
      port: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
      path: fc.constantFrom("", "/", "/api", "/v3/spot"),
    })
    .map(
      ({ scheme, host, port, path }) => `${scheme}://${host}${port === undefined ? "" : `:${port}`}${path}`,
    );

const exchange = fc.oneof(
  fc.record(
    {
      name: fc.constant("binance"),
      mode: fc.constant("paper"),
      endpoint: endpoint(["http", "https"]),
      credentialsSecretRef: secretRef,
    },
    { requiredKeys: ["name", "endpoint", "credentialsSecretRef"] },
  ),
  fc.record(
    {
      name: fc.constant("binance"),
      mode: fc.constant("testnet"),
      endpoint: endpoint(["http", "https"]),
      credentialsSecretRef: secretRef,
    },
    { requiredKeys: ["name", "mode", "credentialsSecretRef"] },
  ),
  fc.record(
    {
      name: fc.constant("binance"),
      mode: fc.constant("live"),
      endpoint: endpoint(["https"]),
      credentialsSecretRef: secretRef,
    },
    { requiredKeys: ["name", "mode", "credentialsSecretRef"] },
  ),
);

const symbol = fc.oneof(
  fc.constantFrom("BTC/USDT", "ETH/USDT", "SOL/BTC", "1INCH/USDT"),
  fc.stringMatching(/^[A-Z0-9]{2,6}\/[A-Z0-9]{2,6}$/),
);

/** A strategy and risk limits that fit together: the order size is within maxOrderQuote <= maxPositionQuote. */
const strategyAndRisk = fc
  .record({
    orderCents: fc.integer({ min: 1, max: 1_000_000 }),
    headroom: fc.nat(100_000),
    position: fc.nat(1_000_000),
  })
  .chain(({ orderCents, headroom, position }) => {
    const orderSize = decimalString(orderCents, 2);
    const grid = fc
      .record({
        lower: fc.integer({ min: 1, max: 10_000_000 }),
        width: fc.integer({ min: 1, max: 1_000_000 }),
        levels: fc.integer({ min: 2, max: 100 }),
      })
      .map(({ lower, width, levels }) => ({
        type: "grid",
        grid: {
          lowerPrice: decimalString(lower, 2),
          upperPrice: decimalString(lower + width, 2),
          levels,
          quotePerOrder: orderSize,
        },
      }));
    const dca = fc
      .record({
        interval: fc
          .tuple(fc.integer({ min: 1, max: 99_999 }), fc.constantFrom("m", "h", "d"))
          .map(([n, unit]) => `${n}${unit}`),
        maxBuys: fc.integer({ min: 1, max: 1000 }),
        takeProfitPct: positiveDecimal(1000),
      })
      .map((dca) => ({ type: "dca", dca: { ...dca, quotePerBuy: orderSize } }));
    const smaCross = fc
      .integer({ min: 2, max: 500 })
      .chain((fastPeriod) =>
        fc.record(
          {
            fastPeriod: fc.constant(fastPeriod),
            slowPeriod: fc.integer({ min: fastPeriod + 1, max: 1000 }),
            timeframe: fc.constantFrom(...TIMEFRAMES),
          },
          { requiredKeys: ["fastPeriod", "slowPeriod"] },
        ),
      )
      .map((params) => ({ type: "smaCross", smaCross: { ...params, quotePerOrder: orderSize } }));
    const risk = fc.record(
      {
        maxOrderQuote: fc.constant(decimalString(orderCents + headroom, 2)),
        maxPositionQuote: fc.constant(decimalString(orderCents + headroom + position, 2)),
        maxDailyLossQuote: positiveDecimal(100_000),
        maxDrawdownPct: positiveDecimal(100),
        maxOpenOrders: fc.integer({ min: 1, max: 200 }),
        maxOrdersPerMinute: fc.integer({ min: 1, max: 600 }),
        priceBandPct: positiveDecimal(50),
      },
      { requiredKeys: ["maxOrderQuote", "maxPositionQuote", "maxDailyLossQuote", "maxDrawdownPct"] },
    );
    return fc.record({ strategy: fc.oneof(grid, dca, smaCross), risk });
  });

const botKillSwitch = fc.record(
  {
    engaged: fc.boolean(),
    reason: freeText(40),
    onEngage: fc.constantFrom(...ON_ENGAGE_ACTIONS),
    acknowledgeHalt: fc.stringMatching(/^[a-z0-9-]{0,20}$/),
  },
  { requiredKeys: [] },
);

const database = fc.record(
  {
    secretRef,
    migrationSecretRef: secretRef,
    retentionDays: fc.integer({ min: 1, max: 3650 }),
    auditRetentionDays: fc.integer({ min: 1, max: 36500 }),
  },
  { requiredKeys: ["secretRef"] },
);

const quantity = fc.constantFrom("100m", "0.5", "1", "128Mi", "1Gi");
const toleration = fc.oneof(
  fc.record(
    {
      key: labelKey,
      operator: fc.constant("Equal"),
      value: labelValue,
      effect: fc.constantFrom("NoSchedule", "PreferNoSchedule"),
    },
    { requiredKeys: ["key"] },
  ),
  fc.record(
    {
      key: labelKey,
      operator: fc.constant("Exists"),
      effect: fc.constant("NoExecute"),
      tolerationSeconds: fc.integer({ min: 0, max: 3600 }),
    },
    { requiredKeys: ["operator", "effect"] },
  ),
);
const pod = fc.record(
  {
    image: fc.constantFrom("ghcr.io/example/bot-runtime:1.0", "bot-runtime@sha256:0123abcd"),
    resources: fc.record(
      {
        requests: fc.record({ cpu: quantity, memory: quantity }, { requiredKeys: [] }),
        limits: fc.record({ memory: quantity }),
      },
      { requiredKeys: [] },
    ),
    nodeSelector: labels,
    tolerations: fc.array(toleration, { maxLength: 3 }),
    priorityClassName: dnsLabel,
    terminationGracePeriodSeconds: fc.integer({ min: 10, max: 600 }),
  },
  { requiredKeys: [] },
);

const cidr = fc.constantFrom("10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "0.0.0.0/0");
const egressPeer = fc.oneof(
  fc.record({ cidr, except: fc.array(cidr, { maxLength: 2 }) }, { requiredKeys: ["cidr"] }),
  fc.record({ namespaceSelector: fc.record({ matchLabels: labels }) }),
  fc.record({ podSelector: fc.record({ matchLabels: labels }) }),
  fc.record({
    namespaceSelector: fc.record({ matchLabels: labels }),
    podSelector: fc.record({ matchLabels: labels }),
  }),
);
const network = fc.record(
  {
    exchangeEgress: fc.array(egressPeer, { maxLength: 3 }),
    databaseEgress: fc.array(egressPeer, { maxLength: 3 }),
  },
  { requiredKeys: [] },
);

export const validBotSpec: fc.Arbitrary<SpecObject> = fc
  .record(
    { exchange, symbol, strategyAndRisk, killSwitch: botKillSwitch, database, pod, network },
    { requiredKeys: ["exchange", "symbol", "strategyAndRisk", "database"] },
  )
  .map(({ strategyAndRisk, ...rest }) => ({ ...rest, ...strategyAndRisk }) as SpecObject);

const requirement = fc.oneof(
  fc.record({
    key: labelKey,
    operator: fc.constantFrom("In", "NotIn"),
    values: fc.array(labelValue, { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ key: labelKey, operator: fc.constantFrom("Exists", "DoesNotExist") }),
);

export const validKillSwitchSpec: fc.Arbitrary<SpecObject> = fc.record(
  {
    engaged: fc.boolean(),
    reason: freeText(60),
    namespaces: fc.uniqueArray(dnsLabel, { maxLength: 4 }),
    selector: fc.record(
      { matchLabels: labels, matchExpressions: fc.array(requirement, { maxLength: 3 }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["engaged"] },
) as fc.Arbitrary<SpecObject>;

// ---------------------------------------------------------------------------------------------------------
// Mutations

type Path = (string | number)[];

/** Every path below the root, objects and lists included, in a stable order. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== "object") return [];
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function get(root: Json, path: Path): Json {
  return path.reduce<Json>((node, key) => (node as Record<string | number, Json>)[key] as Json, root);
}

function parentAndKey(root: Json, path: Path): [Record<string | number, Json>, string | number] {
  return [
    get(root, path.slice(0, -1)) as Record<string | number, Json>,
    path[path.length - 1] as string | number,
  ];
}

/** Values that break a field in some way: wrong JSON type, broken decimal, out of range, too long. */
const BAD_VALUES: Json[] = [
  0,
  -1,
  1,
  2.5,
  100_000,
  true,
  "",
  "x",
  "-1",
  "0",
  "0.0",
  "1e3",
  "01",
  ".5",
  "1.",
  "1,5",
  " 1",
  "0.0000000000000000001",
  "123456789012345678901",
  "BTC-USDT",
  "BTC/ÜSDT",
  "trädingbot",
  "grid",
  "Paper",
  "x".repeat(300),
  "😀".repeat(200),
  "😀".repeat(257),
  {},
  [],
  ["a", "a"],
];

type Mutation = (spec: SpecObject) => void;

function mutationsFor(spec: SpecObject, otherStrategies: Json[]): fc.Arbitrary<Mutation> {
  const paths = pathsOf(spec);
  const anyPath = fc.constantFrom(...paths);
  const objectPaths = [
    [],
    ...paths.filter((path) => {
      const node = get(spec, path);
      return node !== null && typeof node === "object" && !Array.isArray(node);
    }),
  ];
  const replace = fc.tuple(anyPath, fc.constantFrom(...BAD_VALUES)).map(
    ([path, value]): Mutation =>
      (target) => {
        const [parent, key] = parentAndKey(target, path);
        parent[key] = structuredClone(value);
      },
  );
  const remove = anyPath.map(
    (path): Mutation =>
      (target) => {
        const [parent, key] = parentAndKey(target, path);
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
      },
  );
  const addUnknown = fc
    .tuple(fc.constantFrom(...objectPaths), fc.constantFrom("bogus", "Symbol", "maxLoss", "grid"))
    .map(
      ([path, name]): Mutation =>
        (target) => {
          (get(target, path) as Record<string, Json>)[name] = "1";
        },
    );
  // Swapping two values of the same JSON type breaks ordering rules (lower < upper, order <= position,
  // fast < slow) and range rules while every type still checks out.
  const swap = fc.tuple(anyPath, anyPath).map(
    ([a, b]): Mutation =>
      (target) => {
        const [parentA, keyA] = parentAndKey(target, a);
        const [parentB, keyB] = parentAndKey(target, b);
        const valueA = parentA[keyA] as Json;
        const valueB = parentB[keyB] as Json;
        if (typeof valueA !== typeof valueB || typeof valueA === "object") return;
        parentA[keyA] = valueB;
        parentB[keyB] = valueA;
      },
  );
  const scaleDecimal = fc.tuple(anyPath, fc.constantFrom("0", "000", "-", "e2")).map(
    ([path, affix]): Mutation =>
      (target) => {
        const [parent, key] = parentAndKey(target, path);
        const value = parent[key];
        if (typeof value === "string") parent[key] = affix === "-" ? `-${value}` : `${value}${affix}`;
      },
  );
  const mixUnion: fc.Arbitrary<Mutation> = fc
    .tuple(fc.constantFrom(...STRATEGY_TYPES, "scalping"), fc.constantFrom(...otherStrategies), fc.boolean())
    .map(
      ([type, other, addBlock]): Mutation =>
        (target) => {
          const strategy = target.strategy as Record<string, Json> | undefined;
          if (!strategy || typeof strategy !== "object") return;
          if (addBlock)
            Object.assign(strategy, structuredClone(other as Record<string, Json>), { type: strategy.type });
          else strategy.type = type;
        },
    );
  const switchMode = fc.constantFrom(...TRADING_MODES).map(
    (mode): Mutation =>
      (target) => {
        const exchange = target.exchange as Record<string, Json> | undefined;
        if (exchange && typeof exchange === "object") exchange.mode = mode;
      },
  );
  return fc.oneof(
    { arbitrary: replace, weight: 5 },
    { arbitrary: remove, weight: 2 },
    { arbitrary: addUnknown, weight: 1 },
    { arbitrary: swap, weight: 3 },
    { arbitrary: scaleDecimal, weight: 2 },
    { arbitrary: mixUnion, weight: 1 },
    { arbitrary: switchMode, weight: 1 },
  );
}

/** A valid spec with one or two mutations applied: mostly invalid, sometimes still valid. */
export function mutated(valid: fc.Arbitrary<SpecObject>, otherStrategies: Json[]): fc.Arbitrary<SpecObject> {
  return valid.chain((spec) =>
    fc.array(mutationsFor(spec, otherStrategies), { minLength: 1, maxLength: 2 }).map((mutations) => {
      const copy = structuredClone(spec);
      for (const mutation of mutations) {
        try {
          mutation(copy);
        } catch {
          // A second mutation may aim at a path the first one removed: it then changes nothing.
        }
      }
      return copy;
    }),
  );
}

/** Strategies of every type, for mutations that add a second parameter block. */
export const SAMPLE_STRATEGIES: Json[] = [
  { grid: { lowerPrice: "1", upperPrice: "2", levels: 2, quotePerOrder: "1" } },
  { dca: { interval: "1h", quotePerBuy: "1", maxBuys: 1, takeProfitPct: "1" } },
  { smaCross: { fastPeriod: 2, slowPeriod: 3, quotePerOrder: "1" } },
];
