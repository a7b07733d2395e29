import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { isProcessAlive } from "../support/processes.ts";

// Every local node agent needs a loopback range of its own: two agents handing out the same pod IP would
// start two runtimes on the same address and port. Environments in concurrent processes (test workers,
// a demo, a benchmark) claim a /16 by creating a lock file exclusively; a claim whose process is gone is
// stale and taken over.

/** Second octets handed out: 127.64.0.0/16 to 127.127.0.0/16 (the agent's own tests use 127.61-62). */
const FIRST_OCTET = 64;
const LAST_OCTET = 127;

export interface PodCidrClaim {
  cidr: string;
  release(): void;
}

/** Claims a free 127.N.0.0/16 for one agent of this process, recorded in `lockDir`. */
export function claimPodCidr(lockDir: string): PodCidrClaim {
  mkdirSync(lockDir, { recursive: true });
  for (const entry of readdirSync(lockDir)) {
    const path = join(lockDir, entry);
    const pid = Number(readFileSync(path, "utf8").trim());
    if (!Number.isInteger(pid) || pid <= 0 || !isProcessAlive(pid)) rmSync(path, { force: true });
  }
  for (let octet = FIRST_OCTET; octet <= LAST_OCTET; octet++) {
    const path = join(lockDir, `127.${octet}.lock`);
    let fd: number;
    try {
      fd = openSync(path, "wx");
    } catch {
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return { cidr: `127.${octet}.0.0/16`, release: () => rmSync(path, { force: true }) };
  }
  throw new Error(
    `every pod range 127.${FIRST_OCTET}-${LAST_OCTET}.0.0/16 is claimed by a live process (locks in ${lockDir})`,
  );
}
