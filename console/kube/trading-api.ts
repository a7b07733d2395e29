import { API_VERSION, GROUP, KILL_SWITCH, TRADING_BOT } from "../../api/v1alpha1/index.ts";
import type { Impersonation, KubeClient } from "./client.ts";
import type { StoredKillSwitch, StoredTradingBot } from "./views.ts";

// Every read and write the console makes for a person, made as that person: the API server's RBAC and
// admission policies decide, and its audit log names them. The console keeps no permission table.

const base = `/apis/${API_VERSION}`;
const segment = encodeURIComponent;

const botsPath = (namespace?: string) =>
  namespace
    ? `${base}/namespaces/${segment(namespace)}/${TRADING_BOT.plural}`
    : `${base}/${TRADING_BOT.plural}`;
const botPath = (namespace: string, name: string) => `${botsPath(namespace)}/${segment(name)}`;
const switchesPath = `${base}/${KILL_SWITCH.plural}`;

export interface ResourceAttributes {
  verb: string;
  resource: typeof TRADING_BOT.plural | typeof KILL_SWITCH.plural;
  namespace?: string;
  name?: string;
}

export interface BotKillSwitchPatch {
  engaged?: boolean;
  reason?: string;
  acknowledgeHalt?: string;
}

export class TradingApi {
  private readonly client: KubeClient;

  constructor(client: KubeClient) {
    this.client = client;
  }

  async listBots(as: Impersonation, namespace?: string): Promise<StoredTradingBot[]> {
    return (await this.client.request<{ items: StoredTradingBot[] }>(botsPath(namespace), { as })).items;
  }

  getBot(as: Impersonation, namespace: string, name: string): Promise<StoredTradingBot> {
    return this.client.request(botPath(namespace, name), { as });
  }

  /** A merge patch of `spec.killSwitch` alone: what a halter may change (api/access halt-scope policy). */
  patchBotKillSwitch(
    as: Impersonation,
    namespace: string,
    name: string,
    killSwitch: BotKillSwitchPatch,
  ): Promise<StoredTradingBot> {
    return this.client.request(botPath(namespace, name), {
      as,
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { spec: { killSwitch } },
    });
  }

  async listKillSwitches(as: Impersonation): Promise<StoredKillSwitch[]> {
    return (await this.client.request<{ items: StoredKillSwitch[] }>(switchesPath, { as })).items;
  }

  createKillSwitch(
    as: Impersonation,
    killSwitch: {
      name: string;
      reason: string;
      namespaces?: string[];
      selector?: { matchLabels: Record<string, string> };
    },
  ): Promise<StoredKillSwitch> {
    return this.client.request(switchesPath, {
      as,
      method: "POST",
      body: {
        apiVersion: API_VERSION,
        kind: KILL_SWITCH.kind,
        metadata: { name: killSwitch.name },
        spec: {
          engaged: true,
          reason: killSwitch.reason,
          ...(killSwitch.namespaces ? { namespaces: killSwitch.namespaces } : {}),
          ...(killSwitch.selector ? { selector: killSwitch.selector } : {}),
        },
      },
    });
  }

  /** A merge patch of `spec.engaged` and `spec.reason`: what a halter may change on a KillSwitch. */
  patchKillSwitch(
    as: Impersonation,
    name: string,
    spec: { engaged: boolean; reason?: string },
  ): Promise<StoredKillSwitch> {
    return this.client.request(`${switchesPath}/${segment(name)}`, {
      as,
      method: "PATCH",
      contentType: "application/merge-patch+json",
      body: { spec },
    });
  }

  /** A SelfSubjectAccessReview made as the person: whether the API server would let them do it. */
  async allowed(as: Impersonation, attributes: ResourceAttributes): Promise<boolean> {
    const review = await this.client.request<{ status?: { allowed?: boolean } }>(
      "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      {
        as,
        method: "POST",
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: { resourceAttributes: { group: GROUP, ...attributes } },
        },
      },
    );
    return review.status?.allowed === true;
  }
}
