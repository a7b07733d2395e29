import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { V1Container, V1Probe } from "@kubernetes/client-node";

// Container probes as the kubelet runs them: httpGet and tcpSocket against the pod IP, with the probe's
// timing (initialDelaySeconds, periodSeconds, timeoutSeconds) and thresholds (successThreshold,
// failureThreshold). exec and grpc probes are not supported: they report a failure that says so.

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

function resolvePort(
  port: number | string | undefined,
  container: Pick<V1Container, "ports">,
): number | undefined {
  if (typeof port === "number") return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

function httpProbe(
  probe: V1Probe,
  podIP: string,
  container: Pick<V1Container, "ports">,
): Promise<ProbeResult> {
  const get = probe.httpGet;
  const port = resolvePort(get?.port, container);
  if (!get || port === undefined) return Promise.resolve({ ok: false, detail: `unknown port ${get?.port}` });
  const scheme = (get.scheme ?? "HTTP").toUpperCase();
  const path = get.path?.startsWith("/") ? get.path : `/${get.path ?? ""}`;
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const headers: Record<string, string> = { "User-Agent": "kube-probe/local-node-agent", Accept: "*/*" };
  for (const header of get.httpHeaders ?? []) headers[header.name] = header.value;
  const request = scheme === "HTTPS" ? httpsRequest : httpRequest;
  const url = `${scheme.toLowerCase()}://${podIP}:${port}${path}`;
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: "GET", headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve({ ok: status >= 200 && status < 400, detail: `GET ${url}: HTTP ${status}` });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", (error) => resolve({ ok: false, detail: `GET ${url}: ${error.message}` }));
    req.end();
  });
}

function tcpProbe(
  probe: V1Probe,
  podIP: string,
  container: Pick<V1Container, "ports">,
): Promise<ProbeResult> {
  const port = resolvePort(probe.tcpSocket?.port, container);
  if (port === undefined)
    return Promise.resolve({ ok: false, detail: `unknown port ${probe.tcpSocket?.port}` });
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  return new Promise((resolve) => {
    const socket = connect({ host: podIP, port, timeout: timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve({ ok: true, detail: `connected to ${podIP}:${port}` });
    });
    socket.once("timeout", () => socket.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    socket.once("error", (error) =>
      resolve({ ok: false, detail: `connect ${podIP}:${port}: ${error.message}` }),
    );
  });
}

/** One attempt of a probe against the pod IP. */
export function runProbe(
  probe: V1Probe,
  podIP: string,
  container: Pick<V1Container, "ports">,
): Promise<ProbeResult> {
  if (probe.httpGet) return httpProbe(probe, podIP, container);
  if (probe.tcpSocket) return tcpProbe(probe, podIP, container);
  return Promise.resolve({
    ok: false,
    detail: "only httpGet and tcpSocket probes are supported by the local node agent",
  });
}

export interface ProbeLoopOptions {
  probe: V1Probe;
  podIP: string;
  container: Pick<V1Container, "ports">;
  /** Called when the probe's verdict changes (after successThreshold successes / failureThreshold failures). */
  onVerdict: (healthy: boolean, detail: string) => void;
  /**
   * Until the first success, attempt at most this often (ms) instead of every periodSeconds. Only for
   * readiness: earlier attempts cannot fail anything, they just let a pod become Ready sooner.
   */
  fastUntilFirstSuccessMs?: number;
}

/** Runs a probe on its schedule until stopped; `stop()` waits for an attempt in flight. */
export function startProbeLoop(options: ProbeLoopOptions): { stop(): Promise<void> } {
  const { probe } = options;
  const periodMs = (probe.periodSeconds ?? 10) * 1000;
  const successThreshold = probe.successThreshold ?? 1;
  const failureThreshold = probe.failureThreshold ?? 3;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const loop = (async () => {
    await pause((probe.initialDelaySeconds ?? 0) * 1000);
    let successes = 0;
    let failures = 0;
    let verdict: boolean | undefined;
    let everSucceeded = false;
    while (!stopped) {
      const result = await runProbe(probe, options.podIP, options.container);
      if (stopped) break;
      if (result.ok) {
        everSucceeded = true;
        successes++;
        failures = 0;
        if (verdict !== true && successes >= successThreshold) {
          verdict = true;
          options.onVerdict(true, result.detail);
        }
      } else {
        failures++;
        successes = 0;
        if (verdict !== false && failures >= failureThreshold) {
          verdict = false;
          options.onVerdict(false, result.detail);
        }
      }
      const fast = options.fastUntilFirstSuccessMs;
      await pause(!everSucceeded && fast !== undefined ? Math.min(fast, periodMs) : periodMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
