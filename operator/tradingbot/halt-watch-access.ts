import {
  buildHaltWatchClusterRoleBinding,
  buildHaltWatchRole,
  buildHaltWatchRoleBinding,
} from "../desired-state/bot-halt-watch-access.ts";
import type { BotIdentity } from "../desired-state/bot-identity.ts";
import { controllerUid, NotOwnedError } from "../kube/apply.ts";
import { isAlreadyExists, isNotFound, type KubeApi } from "../kube/client.ts";
import { CORE_RESOURCES, type ResourceType } from "../kube/resources.ts";
import type { KubeObject } from "../kube/types.ts";
import { BOT_UID_LABEL, haltWatchClusterBindingNameFor } from "../names.ts";

// The halt watch's access: created before a bot's pod, never updated (no watch: what it grants is fixed by
// its name and the bot), and never written over an object of that name the bot does not control.
// A RoleBinding is created only once its Role is known to be the bot's own, so the operator never binds
// a Role someone else wrote.

const boundToBot = (object: KubeObject, bot: BotIdentity) =>
  controllerUid(object) === bot.uid || object.metadata.labels?.[BOT_UID_LABEL] === bot.uid;

async function createUnlessOwned(api: KubeApi, type: ResourceType, desired: KubeObject, bot: BotIdentity) {
  try {
    await api.create(type, desired);
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const existing = await api.get<KubeObject>(type, desired.metadata.namespace, desired.metadata.name);
    if (!boundToBot(existing, bot)) {
      throw new NotOwnedError(type.kind, desired.metadata.namespace ?? "", desired.metadata.name);
    }
  }
}

export interface HaltWatchAccess {
  /** The ClusterRole that may list and watch KillSwitches, bound to each bot's ServiceAccount. */
  clusterRole: string;
}

/**
 * Before each pod the bot gets (a pod is created rarely: first run, resume, restart, rotation), so that
 * access someone deleted comes back with the next pod.
 */
export async function grantHaltWatch(api: KubeApi, access: HaltWatchAccess, bot: BotIdentity) {
  await createUnlessOwned(api, CORE_RESOURCES.roles, buildHaltWatchRole(bot), bot);
  await createUnlessOwned(api, CORE_RESOURCES.roleBindings, buildHaltWatchRoleBinding(bot), bot);
  await createUnlessOwned(
    api,
    CORE_RESOURCES.clusterRoleBindings,
    buildHaltWatchClusterRoleBinding(bot, access.clusterRole),
    bot,
  );
}

/** The ClusterRoleBinding goes with the bot; the Role and RoleBinding are garbage-collected with it. */
export async function revokeHaltWatch(api: KubeApi, bot: BotIdentity) {
  const type = CORE_RESOURCES.clusterRoleBindings;
  const name = haltWatchClusterBindingNameFor(bot.namespace, bot.name);
  try {
    const existing = await api.get<KubeObject>(type, undefined, name);
    if (!boundToBot(existing, bot)) return;
    await api.delete(type, undefined, name, { uid: existing.metadata.uid });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
