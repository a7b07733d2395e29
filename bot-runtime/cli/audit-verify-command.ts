import pg from "pg";
import { CredentialsError, readDatabaseCredentials } from "../config/credentials.ts";
import { verifyAuditChains } from "../store/audit-verify.ts";
import { poolConfig } from "../store/database.ts";
import type { AuditVerifyFlags } from "./flags.ts";

// `bot-runtime audit verify`: prints one line per bot chain; exits 1 when any chain is broken (naming the
// first broken row), 2 when it cannot run.

export async function runAuditVerify(
  flags: AuditVerifyFlags,
  print: (line: string) => void,
  registerSecret: (value: string) => void,
): Promise<number> {
  let client: pg.Client | undefined;
  try {
    const credentials = readDatabaseCredentials(flags.databaseCredentials);
    registerSecret(credentials.password);
    client = new pg.Client(poolConfig(credentials, "bot-runtime audit verify"));
    await client.connect();
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
    for (const { namespace, name, uid, verdict } of reports) {
      if (verdict.intact) {
        print(`ok      ${namespace}/${name} (uid ${uid}): ${verdict.rows} rows, chain intact`);
      } else {
        broken += 1;
        print(
          `BROKEN  ${namespace}/${name} (uid ${uid}): first broken row id ${verdict.brokenRow.id} (seq ${verdict.brokenRow.seq}): ${verdict.reason}`,
        );
      }
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
