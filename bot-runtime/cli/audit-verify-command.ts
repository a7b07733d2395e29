import pg from "pg";
import { CredentialsError, readDatabaseCredentials } from "../config/credentials.ts";
import type { KubeAccess } from "../kube-anchors/kube-access.ts";
import type { ApiAnchors } from "../kube-anchors/read-anchors.ts";
import { checkAnchors, describeFinding } from "../store/audit-anchors.ts";
import type { ChainVerdict } from "../store/audit-chain.ts";
import {
  type AuditChain,
  auditChainFacts,
  listAuditChains,
  verifyAuditChains,
} from "../store/audit-verify.ts";
import { poolConfig } from "../store/database.ts";
import type { AuditVerifyFlags } from "./flags.ts";

// `bot-runtime audit verify`: prints one line per bot chain; exits 1 when any chain is broken (naming the
// first broken row), 2 when it cannot run. With --anchors, each chain is also held to the heads the API
// server recorded for it (status.audit and AuditAnchor Events): a rewrite of the whole table, hashes
// recomputed, passes the chain check and fails this one.

type Print = (line: string) => void;

function chainLine({ namespace, name, uid }: AuditChain, verdict: ChainVerdict): string {
  return verdict.intact
    ? `ok      ${namespace}/${name} (uid ${uid}): ${verdict.rows} rows, chain intact`
    : `BROKEN  ${namespace}/${name} (uid ${uid}): first broken row id ${verdict.brokenRow.id} (seq ${verdict.brokenRow.seq}): ${verdict.reason}`;
}

export async function runAuditVerify(
  flags: AuditVerifyFlags,
  print: Print,
  registerSecret: (value: string) => void,
): Promise<number> {
  let client: pg.Client | undefined;
  try {
    const credentials = readDatabaseCredentials(flags.databaseCredentials);
    registerSecret(credentials.password);
    // The API server's credentials are read before anything is checked: a wrong flag fails at once.
    const access = flags.anchors === undefined ? undefined : await kubeAccess(flags.anchors, registerSecret);
    client = new pg.Client(poolConfig(credentials, "bot-runtime audit verify"));
    await client.connect();
    if (access !== undefined) return await verifyWithAnchors(client, access, flags, print);
    const reports = await verifyAuditChains(client, flags.bot);
    if (reports.length === 0) {
      print(
        flags.bot === undefined
          ? "no audit rows"
          : `no audit rows for ${flags.bot.namespace}/${flags.bot.name}`,
      );
      return flags.bot === undefined ? 0 : 1;
    }
    let broken = 0;
    for (const report of reports) {
      if (!report.verdict.intact) broken += 1;
      print(chainLine(report, report.verdict));
    }
    return broken === 0 ? 0 : 1;
  } catch (error) {
    print(
      `audit verify failed: ${error instanceof CredentialsError ? error.message : (error as Error).message}`,
    );
    return 2;
  } finally {
    await client?.end().catch(() => {});
  }
}

/** Loaded only for --anchors: `run` never evaluates the API server's client or the kubeconfig reader. */
async function kubeAccess(
  anchors: NonNullable<AuditVerifyFlags["anchors"]>,
  registerSecret: (value: string) => void,
): Promise<KubeAccess> {
  const { inClusterAccess, kubeconfigAccess } = await import("../kube-anchors/kube-access.ts");
  const access = anchors.kubeconfig === undefined ? inClusterAccess() : kubeconfigAccess(anchors.kubeconfig);
  for (const secret of access.secrets) registerSecret(secret);
  return access;
}

async function verifyWithAnchors(
  client: pg.Client,
  access: KubeAccess,
  flags: AuditVerifyFlags,
  print: Print,
): Promise<number> {
  const { readAnchors, tradingBotUid } = await import("../kube-anchors/read-anchors.ts");
  const chains = await listAuditChains(client, flags.bot);
  if (chains.length === 0 && flags.bot === undefined) {
    print("no audit rows");
    return 0;
  }
  // A bot whose rows are all gone may still be anchored: its TradingBot says which chain to look for.
  if (chains.length === 0 && flags.bot !== undefined) {
    const { namespace, name } = flags.bot;
    const uid = await tradingBotUid(access, flags.bot);
    if (uid === undefined) {
      print(`no audit rows for ${namespace}/${name}, and no TradingBot of that name to anchor any`);
      return 1;
    }
    chains.push({ namespace, name, uid });
  }
  let failed = 0;
  for (const chain of chains) {
    // The anchors first, then the database in one snapshot: every anchored row was committed before it.
    const anchors: ApiAnchors = await readAnchors(access, chain);
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const facts = await auditChainFacts(
      client,
      chain.uid,
      anchors.anchors.map((anchor) => anchor.sequence),
    ).finally(() => client.query("COMMIT"));
    const check = checkAnchors(facts, anchors.anchors);
    const who = `${chain.namespace}/${chain.name} (uid ${chain.uid})`;
    print(chainLine(chain, facts.verdict));
    for (const finding of check.findings) print(`        ${describeFinding(finding)}`);
    for (const note of anchors.notes) print(`        ${note}`);
    const failures = [...anchors.problems, ...check.failures];
    // The bot named should be anchored; an earlier TradingBot of that name, gone, has nothing left to say.
    if (anchors.anchors.length === 0 && flags.bot !== undefined && anchors.botExists) {
      failures.push(`no anchor in the API server (${access.origin}) to check the chain against`);
    }
    for (const failure of failures) print(`ANCHORS ${who}: ${failure}`);
    if (failures.length === 0 && check.findings.length > 0) {
      const checked = check.findings.filter((f) => f.result === "matches").length;
      const newest = check.findings.at(-1)?.anchor.sequence;
      print(
        `ok      ${who}: matches the API server's anchors (${checked} checked, the newest at sequence ${newest})`,
      );
    }
    if (failures.length > 0 || !facts.verdict.intact) failed += 1;
  }
  return failed === 0 ? 0 : 1;
}
