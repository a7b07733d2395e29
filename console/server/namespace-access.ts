import type { FastifyRequest } from "fastify";
import type { Impersonation } from "../kube/client.ts";
import type { TradingApi } from "../kube/trading-api.ts";

// Which namespaces' TradingBots a person may list, asked of the API server as the person
// (SelfSubjectAccessReview) and remembered briefly per session, so a live page does not ask for every
// change it is sent. "" stands for every namespace at once (a cluster-wide list).

export interface AccessCheck {
  sid: string;
  as: Impersonation;
}

export class NamespaceAccess {
  private readonly answers = new Map<string, { allowed: Promise<boolean>; until: number }>();

  private readonly trading: TradingApi;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(trading: TradingApi, ttlMs = 10_000, now: () => number = Date.now) {
    this.trading = trading;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  mayList(check: AccessCheck, namespace: string): Promise<boolean> {
    const key = `${check.sid}\u0000${namespace}`;
    const now = this.now();
    const cached = this.answers.get(key);
    if (cached && cached.until > now) return cached.allowed;
    const allowed = this.trading
      .allowed(check.as, { verb: "list", resource: "tradingbots", ...(namespace ? { namespace } : {}) })
      .catch(() => false);
    this.answers.set(key, { allowed, until: now + this.ttlMs });
    if (this.answers.size > 50_000) this.prune(now);
    return allowed;
  }

  mayListEverywhere(request: FastifyRequest): Promise<boolean> {
    return this.mayList(checkOf(request), "");
  }

  async listableOf(request: FastifyRequest, namespaces: string[]): Promise<Set<string>> {
    const check = checkOf(request);
    const answers = await Promise.all(
      namespaces.map(async (ns) => [ns, await this.mayList(check, ns)] as const),
    );
    return new Set(answers.filter(([, allowed]) => allowed).map(([ns]) => ns));
  }

  private prune(now: number): void {
    for (const [key, answer] of this.answers) if (answer.until <= now) this.answers.delete(key);
  }
}

export function checkOf(request: FastifyRequest): AccessCheck {
  const session = request.session;
  if (!session) throw new Error("a person's route was reached without a session");
  return { sid: session.sid, as: { user: session.user, groups: session.groups } };
}
