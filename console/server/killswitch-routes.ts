import type { FastifyInstance } from "fastify";
import type { TradingApi } from "../kube/trading-api.ts";
import { killSwitchItem, killSwitchScopeText } from "../kube/views.ts";
import { personOf } from "./bot-routes.ts";
import {
  CreateKillSwitchBody,
  EmptyBody,
  HaltBody,
  InputError,
  KillSwitchParams,
  parseInput,
} from "./inputs.ts";

// KillSwitches, read and changed as the person. Creating one halts every bot it selects at once, so
// the person types its scope back (confirmScope) before it is created.

export async function killSwitchRoutes(
  app: FastifyInstance,
  options: { trading: TradingApi },
): Promise<void> {
  const { trading } = options;

  app.get("/api/killswitches", async (request) => {
    const items = (await trading.listKillSwitches(personOf(request))).map(killSwitchItem);
    items.sort((a, b) => a.name.localeCompare(b.name));
    return { items };
  });

  app.get("/api/killswitches/permissions", async (request) => {
    const as = personOf(request);
    const [create, update] = await Promise.all([
      trading.allowed(as, { verb: "create", resource: "killswitches" }),
      trading.allowed(as, { verb: "patch", resource: "killswitches" }),
    ]);
    return { create, update };
  });

  app.post("/api/killswitches", async (request) => {
    const body = parseInput(CreateKillSwitchBody, request.body, "body");
    const scope = killSwitchScopeText(body.namespaces, body.selector?.matchLabels);
    if (body.confirmScope !== scope) {
      throw new InputError(`confirmScope: must repeat the switch's scope exactly: ${JSON.stringify(scope)}`);
    }
    return killSwitchItem(
      await trading.createKillSwitch(personOf(request), {
        name: body.name,
        reason: body.reason,
        ...(body.namespaces ? { namespaces: body.namespaces } : {}),
        ...(body.selector ? { selector: body.selector } : {}),
      }),
    );
  });

  app.post("/api/killswitches/:name/engage", async (request) => {
    const { name } = parseInput(KillSwitchParams, request.params, "path");
    const { reason } = parseInput(HaltBody, request.body, "body");
    return killSwitchItem(await trading.patchKillSwitch(personOf(request), name, { engaged: true, reason }));
  });

  app.post("/api/killswitches/:name/release", async (request) => {
    const { name } = parseInput(KillSwitchParams, request.params, "path");
    parseInput(EmptyBody, request.body, "body");
    return killSwitchItem(await trading.patchKillSwitch(personOf(request), name, { engaged: false }));
  });
}
