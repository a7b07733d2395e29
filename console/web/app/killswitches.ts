import { ApiError, api, type KillSwitchItem } from "./api.ts";
import { el, form, replace } from "./dom.ts";

// The KillSwitches: list, engage with a reason, release. Buttons follow the person's RBAC.

function scopeOf(item: KillSwitchItem): string {
  const parts = [];
  if (item.namespaces?.length) parts.push(`namespaces ${item.namespaces.join(",")}`);
  const labels = Object.entries(item.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  if (labels.length > 0) parts.push(`labels ${labels.join(",")}`);
  return parts.length > 0 ? parts.join(", ") : "every bot";
}

export function killSwitchesView(view: HTMLElement): () => void {
  const body = el("tbody");
  const message = el("p", { role: "status" });
  let mayUpdate = false;

  const act = async (action: () => Promise<unknown>, done: string) => {
    try {
      await action();
      replace(message, done);
      await load();
    } catch (error) {
      replace(
        message,
        el("span", { class: "error" }, error instanceof ApiError ? error.message : String(error)),
      );
    }
  };

  const row = (item: KillSwitchItem) => {
    const reason = el("input", {
      name: "reason",
      required: true,
      maxlength: "256",
      "aria-label": `Reason to engage ${item.name}`,
    });
    const release = el("button", { type: "button", disabled: !mayUpdate || !item.engaged }, "Release");
    release.addEventListener(
      "click",
      () => void act(() => api.releaseKillSwitch(item.name), `${item.name} released.`),
    );
    return el(
      "tr",
      { "data-killswitch": item.name },
      el("td", {}, item.name),
      el("td", {}, item.engaged ? "engaged" : "released"),
      el("td", {}, scopeOf(item)),
      el("td", {}, item.reason ?? ""),
      el("td", {}, item.haltedBots ?? ""),
      el(
        "td",
        {},
        form(
          { "aria-label": `Engage ${item.name}` },
          () => act(() => api.engageKillSwitch(item.name, reason.value), `${item.name} engaged.`),
          reason,
          el("button", { type: "submit", class: "danger", disabled: !mayUpdate || item.engaged }, "Engage"),
        ),
        release,
      ),
    );
  };

  const load = async () => {
    const [{ items }, permissions] = await Promise.all([api.killSwitches(), api.killSwitchPermissions()]);
    mayUpdate = permissions.update;
    replace(body, ...items.map(row));
  };

  replace(
    view,
    el("h1", {}, "KillSwitches"),
    el(
      "table",
      { "aria-label": "KillSwitches" },
      el(
        "thead",
        {},
        el("tr", {}, ...["Name", "State", "Scope", "Reason", "Halted bots", ""].map((t) => el("th", {}, t))),
      ),
      body,
    ),
    el("p", {}, "A new KillSwitch is created from the fleet page (Fleet halt)."),
    message,
  );
  const poll = setInterval(() => void load().catch(() => {}), 5_000);
  void load().catch((error) => replace(message, el("span", { class: "error" }, String(error))));
  return () => clearInterval(poll);
}
