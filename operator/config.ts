import { isIP } from "node:net";
import { hostname } from "node:os";
import { z } from "zod";
import { DEFAULT_MAX_GRACE_PERIOD_SECONDS } from "./desired-state/bot-pod.ts";

// Operator settings from flags (`--name=value`) and environment (`TRADINGBOT_OPERATOR_NAME`); a flag
// wins over the environment, and every value is validated before anything starts.

const DURATION = /^([0-9]+)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

const duration = (min: number) =>
  z.string().transform((text, ctx) => {
    const ms = parseDurationMs(text);
    if (ms === undefined || ms < min) {
      ctx.addIssue({
        code: "custom",
        message: `must be a duration such as 500ms, 15s, 5m or 1h, of at least ${min} ms`,
      });
      return z.NEVER;
    }
    return ms;
  });

const LABEL_PAIR =
  /^([a-zA-Z0-9]([-a-zA-Z0-9_./]*[a-zA-Z0-9])?)=([a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?)?$/;

/** `k=v,k2=v2` as a label map; empty text is an empty map. */
const labelMap = z.string().transform((text, ctx) => {
  const labels: Record<string, string> = {};
  for (const pair of text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const match = LABEL_PAIR.exec(pair);
    if (!match) {
      ctx.addIssue({
        code: "custom",
        message: `"${pair}" is not a label pair such as app=tradingbot-operator`,
      });
      return z.NEVER;
    }
    labels[match[1] as string] = match[3] ?? "";
  }
  return labels;
});

const boolean = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, { message: `must be an integer between ${min} and ${max}` })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const port = integer(0, 65535);

/** `a,b,c` as a list of non-empty items; empty text is an empty list. */
const commaList = (text: string) =>
  text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");

const portList = z.string().transform((text, ctx) => {
  const ports = commaList(text).map(Number);
  if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    ctx.addIssue({
      code: "custom",
      message: "must be a comma-separated list of ports 1-65535, such as 443,6443",
    });
    return z.NEVER;
  }
  return [...new Set(ports)];
});

/** An IPv4 or IPv6 CIDR such as 10.0.0.1/32 or fd00::/64. */
function isCidr(text: string): boolean {
  const [address = "", prefix, ...rest] = text.split("/");
  const family = isIP(address);
  if (family === 0 || prefix === undefined || rest.length > 0 || !/^[0-9]{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

const cidrList = z.string().transform((text, ctx) => {
  const cidrs = commaList(text);
  const bad = cidrs.find((cidr) => !isCidr(cidr));
  if (bad !== undefined) {
    ctx.addIssue({
      code: "custom",
      message: `must be a comma-separated list of CIDRs such as 10.0.0.10/32; "${bad}" is not one`,
    });
    return z.NEVER;
  }
  return cidrs;
});

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const OperatorConfig = z.strictObject({
  kubeconfig: z.string().min(1).optional(),
  /** `all`, or a comma-separated list of namespaces whose TradingBots are reconciled. */
  namespaces: z
    .string()
    .default("all")
    .transform((text, ctx): "all" | string[] => {
      if (text.trim() === "all") return "all";
      const list = text
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n !== "");
      const bad = list.find((n) => !NAMESPACE.test(n));
      if (list.length === 0 || bad !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `must be "all" or a comma-separated list of namespace names${bad ? `; "${bad}" is not one` : ""}`,
        });
        return z.NEVER;
      }
      return [...new Set(list)];
    }),
  botImage: z
    .string()
    .regex(/^[^\s]+$/, { message: "must be an image reference" })
    // One image holds both programs; bot pods run its `bot-runtime` command.
    .default("ghcr.io/botops/tradingbot-operator:0.1.0"),
  concurrency: integer(1, 1000).default(64),
  // A guard against a runaway loop flooding the API server, not a throttle: well above what a fleet of
  // 1000 arriving asks for (about 160 requests/s in make bench), so convergence does not wait for it.
  // Halt DELETEs and Lease requests skip it.
  qps: integer(1, 100_000).default(200),
  burst: integer(1, 100_000).default(500),
  bindAddress: z.string().min(1).default("0.0.0.0"),
  metricsPort: port.default(8080),
  healthPort: port.default(8081),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  operatorNamespace: z
    .string()
    .regex(NAMESPACE, { message: "must be a namespace name" })
    .default("tradingbot-system"),
  operatorPodLabels: labelMap.prefault("app.kubernetes.io/name=tradingbot-operator"),
  monitoringNamespaceSelector: labelMap.prefault("kubernetes.io/metadata.name=monitoring"),
  dnsNamespace: z.string().regex(NAMESPACE, { message: "must be a namespace name" }).default("kube-system"),
  /**
   * How bot pods reach the API server, for their halt watch: the ports as the pod's traffic carries them
   * after the Service's translation (6443 on most clusters, 443 on some managed ones), and the API server's
   * addresses. No CIDRs: any address on those ports.
   */
  apiServerPorts: portList.prefault("443,6443"),
  apiServerCidrs: cidrList.prefault(""),
  leaderElect: boolean.default(true),
  /**
   * Write KillSwitch status (matched and halted bots). Default: only when watching all namespaces, as
   * an operator that sees part of the fleet would count part of it, and two such operators would fight.
   */
  killSwitchStatus: boolean.optional(),
  leaderElectionId: z
    .string()
    .regex(NAMESPACE, { message: "must be a Lease name" })
    .default("tradingbot-operator-leader"),
  identity: z.string().min(1).max(128).optional(),
  runtimePollInterval: duration(1000).prefault("15s"),
  runtimeMirrorInterval: duration(1000).prefault("60s"),
  /**
   * The audit chain head each runtime reports is mirrored into status.audit (with the report's own status
   * writes) and recorded in an AuditAnchor Event every this many rows, or every --audit-anchor-interval,
   * whichever comes first.
   */
  auditAnchorRows: integer(1, 100_000_000).default(1000),
  auditAnchorInterval: duration(1000).prefault("10m"),
  resyncPeriod: duration(10_000).prefault("10m"),
  /**
   * The longest a bot pod may take to stop (its egress stays open meanwhile): spec.pod's grace period is
   * capped to it, in the pod and in the DELETE of a halt.
   */
  maxGracePeriod: duration(1000)
    .prefault(`${DEFAULT_MAX_GRACE_PERIOD_SECONDS}s`)
    .refine((ms) => ms <= 600_000, { message: "must be at most 600s, the API's own limit" }),
  /**
   * The audience of the token each bot's halt watch reads its TradingBot and the KillSwitches with. Empty:
   * the API server's own audience. Set one (and add it to the API server's --api-audiences) so that no
   * other service that accepts ServiceAccount tokens accepts this one.
   */
  haltWatchAudience: z
    .string()
    .max(253)
    .regex(/^[^\s]*$/, { message: "must be an audience without spaces, or empty" })
    .default(""),
  /** The ClusterRole that lets a bot's halt watch list KillSwitches: the one the operator may bind. */
  haltWatchClusterRole: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/, { message: "must be a ClusterRole name" })
    .default("tradingbot-operator-halt-watch"),
  /** How long past its grace period a bot pod may take to go before a deleted bot force-deletes it. */
  deletionMargin: duration(0).prefault("30s"),
});
export type OperatorConfig = Omit<z.output<typeof OperatorConfig>, "identity" | "killSwitchStatus"> & {
  identity: string;
  killSwitchStatus: boolean;
};

type Field = keyof z.input<typeof OperatorConfig>;
const FIELDS = Object.keys(OperatorConfig.shape) as Field[];
/** Boolean flags that may stand alone (`--leader-elect` means `--leader-elect=true`). */
const BARE_BOOLEAN_FIELDS = new Set<Field>(["leaderElect", "killSwitchStatus"]);

const flagOf = (field: string) => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
const envOf = (field: string) =>
  `TRADINGBOT_OPERATOR_${field.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid operator configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Reads and validates the configuration; throws a ConfigError listing every problem. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): OperatorConfig {
  const byFlag = new Map(FIELDS.map((field) => [flagOf(field), field]));
  const raw: Partial<Record<Field, string>> = {};
  const problems: string[] = [];
  const sourceOf = new Map<Field, string>();

  for (const field of FIELDS) {
    const value = env[envOf(field)];
    if (value !== undefined) {
      raw[field] = value;
      sourceOf.set(field, envOf(field));
    }
  }
  if (raw.operatorNamespace === undefined && env.POD_NAMESPACE) raw.operatorNamespace = env.POD_NAMESPACE;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const field = byFlag.get(flag);
    if (!field) {
      problems.push(`${flag}: unknown flag; known flags: ${[...byFlag.keys()].join(", ")}`);
      continue;
    }
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      const next = argv[i + 1];
      if (BARE_BOOLEAN_FIELDS.has(field) && (next === undefined || next.startsWith("--"))) {
        value = "true";
      } else {
        value = next;
        i += 1;
      }
    }
    if (value === undefined) {
      problems.push(`${flag}: needs a value`);
      continue;
    }
    raw[field] = value;
    sourceOf.set(field, flag);
  }

  const parsed = OperatorConfig.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path[0] as Field;
      const source = sourceOf.get(field) ?? flagOf(field);
      const value = raw[field];
      problems.push(`${source}: ${issue.message}${value === undefined ? "" : ` (got "${value}")`}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const config = parsed.data;
  return {
    ...config,
    identity: config.identity ?? env.POD_NAME ?? `${hostname()}_${process.pid}`,
    killSwitchStatus: config.killSwitchStatus ?? config.namespaces === "all",
  };
}

/** The flag and environment variable names, for --help. */
export function configUsage(): string {
  return FIELDS.map((field) => `  ${flagOf(field).padEnd(34)} ${envOf(field)}`).join("\n");
}
