import { describe, expect, it } from "vitest";
import { type OidcClaimMapping, oidcIdentity } from "./oidc-identity.ts";

const mapping: OidcClaimMapping = {
  usernameClaim: "email",
  groupsClaim: "groups",
  usernamePrefix: "oidc:",
  groupsPrefix: "oidc:",
  allowedUsers: new Set(["oidc:alice@example.com", "oidc:carol@example.com"]),
  allowedGroups: new Set(["oidc:desk", "oidc:risk"]),
};

describe("an OIDC sign-in's identity", () => {
  it("is the prefixed username and the prefixed groups the console may impersonate; others are dropped", () => {
    expect(
      oidcIdentity(
        { sub: "1", email: "alice@example.com", email_verified: true, groups: ["desk", "payroll", "desk"] },
        mapping,
      ),
    ).toEqual({
      ok: true,
      user: { name: "oidc:alice@example.com", groups: ["oidc:desk"] },
      droppedGroups: ["oidc:payroll"],
    });
    // One group as a plain string, as some issuers send it.
    expect(oidcIdentity({ email: "alice@example.com", groups: "risk" }, mapping)).toMatchObject({
      ok: true,
      user: { groups: ["oidc:risk"] },
    });
  });

  it("cannot name a system identity: the prefix comes first, and the allowlist holds only prefixed names", () => {
    expect(oidcIdentity({ email: "system:admin", groups: ["system:masters"] }, mapping)).toEqual({
      ok: false,
      reason: "oidc_user_not_allowed",
      user: "oidc:system:admin",
    });
    const granted = oidcIdentity({ email: "alice@example.com", groups: ["system:masters", "desk"] }, mapping);
    expect(granted).toMatchObject({ ok: true, user: { groups: ["oidc:desk"] } });
  });

  it("refuses a person outside the allowlist, and one none of whose groups is allowed", () => {
    expect(oidcIdentity({ email: "bob@example.com", groups: ["desk"] }, mapping)).toEqual({
      ok: false,
      reason: "oidc_user_not_allowed",
      user: "oidc:bob@example.com",
    });
    for (const groups of [["payroll"], [], undefined, 42]) {
      expect(oidcIdentity({ email: "carol@example.com", groups }, mapping), JSON.stringify(groups)).toEqual({
        ok: false,
        reason: "oidc_no_allowed_group",
        user: "oidc:carol@example.com",
      });
    }
  });

  it("takes an email as a name only when the issuer has not said it is unverified, as kube-apiserver", () => {
    expect(
      oidcIdentity({ email: "alice@example.com", email_verified: false, groups: ["desk"] }, mapping),
    ).toEqual({ ok: false, reason: "oidc_email_not_verified", user: "oidc:alice@example.com" });
    expect(
      oidcIdentity({ email: "alice@example.com", email_verified: "true", groups: ["desk"] }, mapping),
    ).toMatchObject({ ok: false, reason: "oidc_email_not_verified" });
    const byName = { ...mapping, usernameClaim: "preferred_username", allowedUsers: new Set(["oidc:alice"]) };
    expect(
      oidcIdentity({ preferred_username: "alice", email_verified: false, groups: ["desk"] }, byName),
    ).toMatchObject({ ok: true, user: { name: "oidc:alice" } });
  });

  it("refuses a token without the username claim, or with one that is not a short string", () => {
    for (const email of [undefined, "", 7, ["alice@example.com"], "a".repeat(257)]) {
      expect(oidcIdentity({ email, groups: ["desk"] }, mapping)).toEqual({
        ok: false,
        reason: "oidc_claim_missing",
        claim: "email",
      });
    }
  });
});
