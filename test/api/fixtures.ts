// Shared by the API suites: installing the generated CRDs, the samples as objects, and API-server calls that
// report accept/reject instead of throwing.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { load } from "js-yaml";
import { GROUP, KILL_SWITCH, TRADING_BOT, TRADING_POLICY, VERSION } from "../../api/v1alpha1/group.ts";
import { kubectl } from "../support/kubectl.ts";

const repoRoot = new URL("../../", import.meta.url);
export const crdsDir = fileURLToPath(new URL("crds/", repoRoot));
export const samplesDir = fileURLToPath(new URL("config/samples/", repoRoot));

export const CRD_NAMES = [
  `${TRADING_BOT.plural}.${GROUP}`,
  `${KILL_SWITCH.plural}.${GROUP}`,
  `${TRADING_POLICY.plural}.${GROUP}`,
] as const;

/**
 * Installs crds/ with server-side apply as the cluster admin and waits until all are Established. Every
 * suite calls it: applying identical CRDs again is a no-op.
 */
export async function installCrds(): Promise<void> {
  await kubectl([
    "apply",
    "--server-side",
    "--force-conflicts",
    "--field-manager=tradingbot-crds",
    "-f",
    crdsDir,
  ]);
  await kubectl([
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    ...CRD_NAMES.map((name) => `customresourcedefinition/${name}`),
  ]);
}

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
};

/** The sample files, parsed, by file name. */
export function loadSamples(): Map<string, KubeObject> {
  const samples = new Map<string, KubeObject>();
  for (const file of readdirSync(samplesDir).filter((name) => name.endsWith(".yaml"))) {
    samples.set(file, load(readFileSync(`${samplesDir}${file}`, "utf8")) as KubeObject);
  }
  return samples;
}

export function sample(file: string): KubeObject {
  const found = loadSamples().get(file);
  if (!found) throw new Error(`config/samples/${file} does not exist`);
  return found;
}

/** The spec of the paper grid sample: the valid starting point most cases change one thing in. */
export function gridBotSpec(): Record<string, unknown> {
  return structuredClone(sample("tradingbot-grid-paper.yaml").spec ?? {});
}

export function tradingBot(name: string, spec: unknown): KubeObject {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: TRADING_BOT.kind,
    metadata: { name },
    spec: spec as Record<string, unknown>,
  };
}

export function killSwitch(name: string, spec: unknown, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: KILL_SWITCH.kind,
    metadata: { name, labels },
    spec: spec as Record<string, unknown>,
  };
}

export type Verdict = { accepted: true; object: KubeObject } | { accepted: false; message: string };

/** A 403 that a ValidatingAdmissionPolicy denied, as opposed to one RBAC denied. */
const admissionDenial = (error: ApiException<unknown>) =>
  error.code === 403 &&
  String(typeof error.body === "string" ? error.body : JSON.stringify(error.body)).includes(
    "ValidatingAdmissionPolicy",
  );

async function verdictOf(call: Promise<unknown>, admissionIsVerdict = false): Promise<Verdict> {
  try {
    return { accepted: true, object: (await call) as KubeObject };
  } catch (error) {
    // 400 (strict decoding: unknown fields, wrong JSON types) and 422 (schema and CEL) are verdicts, and, when
    // asked for, an admission policy's denial; anything else is a broken test environment and must not count
    // as a rejection.
    if (
      error instanceof ApiException &&
      (error.code === 400 || error.code === 422 || (admissionIsVerdict && admissionDenial(error)))
    ) {
      const body = typeof error.body === "string" ? error.body : JSON.stringify(error.body);
      return { accepted: false, message: (JSON.parse(body) as { message?: string }).message ?? body };
    }
    throw error;
  }
}

/**
 * Creates with dryRun=All and strict field validation: the API server's full verdict, nothing stored.
 * `admission`: a ValidatingAdmissionPolicy's denial (403) is a verdict too.
 */
export function dryRunCreate(
  kc: KubeConfig,
  namespace: string,
  object: KubeObject,
  options: { admission?: boolean } = {},
): Promise<Verdict> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const common = { group: GROUP, version: VERSION, body: object, dryRun: "All", fieldValidation: "Strict" };
  return verdictOf(
    object.kind === KILL_SWITCH.kind
      ? api.createClusterCustomObject({ ...common, plural: KILL_SWITCH.plural })
      : api.createNamespacedCustomObject({ ...common, namespace, plural: TRADING_BOT.plural }),
    options.admission === true,
  );
}
