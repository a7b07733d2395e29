import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RBAC_DIR, renderRbac } from "./rbac-gen.ts";
import { BOT_NAMESPACE_RULES, CLUSTER_RULES, LEADER_ELECTION_RULES } from "./rbac-rules.ts";

describe("config/rbac", () => {
  it("is exactly what operator/rbac-gen.ts renders from the rules", () => {
    for (const [file, text] of Object.entries(renderRbac())) {
      expect(
        readFileSync(new URL(file, RBAC_DIR), "utf8"),
        `${file} is stale: run node operator/rbac-gen.ts`,
      ).toBe(text);
    }
  });
});

describe("the operator's RBAC rules", () => {
  const all = [...BOT_NAMESPACE_RULES, ...CLUSTER_RULES, ...LEADER_ELECTION_RULES];

  it("say why each rule exists", () => {
    for (const rule of all) expect(rule.why.length).toBeGreaterThan(20);
  });

  it("grant no wildcard and no escalation verbs", () => {
    for (const rule of all) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain("*");
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["escalate"]));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["bind"]));
      expect(rule.verbs).not.toEqual(expect.arrayContaining(["impersonate"]));
    }
  });

  it("never let the operator write Secrets, nor touch RBAC beyond creating the halt watch's bindings", () => {
    const secretRules = all.filter((rule) => rule.resources.includes("secrets"));
    expect(secretRules.flatMap((rule) => rule.verbs).sort()).toEqual(["get", "list", "watch"]);
    const rbac = all.filter((rule) => rule.apiGroups.includes("rbac.authorization.k8s.io"));
    expect(rbac.map(({ resources, verbs }) => ({ resources, verbs }))).toEqual([
      { resources: ["roles", "rolebindings"], verbs: ["create", "get"] },
      { resources: ["clusterrolebindings"], verbs: ["create", "get", "delete"] },
    ]);
    // No update, patch, escalate or bind: what exists is never rewritten, and no other role is bound.
    expect(rbac.flatMap((rule) => rule.verbs)).not.toContain("escalate");
    expect(all.some((rule) => rule.resources.includes("clusterroles"))).toBe(false);
  });

  it("let the operator update only its own leader Lease", () => {
    const update = LEADER_ELECTION_RULES.find((rule) => rule.verbs.includes("update"));
    expect(update?.resourceNames).toEqual(["tradingbot-operator-leader"]);
  });
});
