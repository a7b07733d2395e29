// Who an OIDC sign-in is, as a pure decision over the ID token's claims: the username and groups claims,
// prefixed the way kube-apiserver's --oidc-username-prefix and --oidc-groups-prefix do (so an issuer
// cannot name a `system:` identity or a local user), then held to what the console may impersonate. The
// console's ClusterRole may impersonate only listed users and groups, so a name outside the list is
// refused here with a reason, and groups outside it are dropped rather than sent to be refused.

export interface OidcClaimMapping {
  /** The ID token claim that names the person (kube-apiserver's --oidc-username-claim). */
  usernameClaim: string;
  /** The ID token claim with the person's groups: an array of strings, or one string. */
  groupsClaim: string;
  usernamePrefix: string;
  groupsPrefix: string;
  /** Prefixed usernames the console may impersonate (--impersonate-users). */
  allowedUsers: ReadonlySet<string>;
  /** Groups the console may impersonate (--impersonate-groups). */
  allowedGroups: ReadonlySet<string>;
}

export type OidcIdentityRefusal =
  | "oidc_claim_missing"
  | "oidc_email_not_verified"
  | "oidc_user_not_allowed"
  | "oidc_no_allowed_group";

export type OidcIdentity =
  | { ok: true; user: { name: string; groups: string[] }; droppedGroups: string[] }
  /** `user` is the prefixed name when the issuer sent one (for the log line and the refusal page). */
  | { ok: false; reason: OidcIdentityRefusal; user?: string; claim?: string };

/** Longest claim value taken: longer names are no one the console serves, and would only bloat logs. */
const MAX_CLAIM_LENGTH = 256;
const MAX_GROUPS = 256;

function groupsOf(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) return [];
  return value
    .filter((group): group is string => typeof group === "string" && group !== "")
    .slice(0, MAX_GROUPS);
}

/** The identity an ID token's claims map to, or why the console refuses it. */
export function oidcIdentity(
  claims: Readonly<Record<string, unknown>>,
  mapping: OidcClaimMapping,
): OidcIdentity {
  const username = claims[mapping.usernameClaim];
  if (typeof username !== "string" || username === "" || username.length > MAX_CLAIM_LENGTH) {
    return { ok: false, reason: "oidc_claim_missing", claim: mapping.usernameClaim };
  }
  const name = `${mapping.usernamePrefix}${username}`;
  // As kube-apiserver: an email is a name only once the issuer has verified it, when it says.
  if (mapping.usernameClaim === "email" && "email_verified" in claims && claims.email_verified !== true) {
    return { ok: false, reason: "oidc_email_not_verified", user: name };
  }
  if (!mapping.allowedUsers.has(name)) return { ok: false, reason: "oidc_user_not_allowed", user: name };
  const claimed = [
    ...new Set(
      groupsOf(claims[mapping.groupsClaim])
        .filter((group) => group.length <= MAX_CLAIM_LENGTH)
        .map((group) => `${mapping.groupsPrefix}${group}`),
    ),
  ];
  const groups = claimed.filter((group) => mapping.allowedGroups.has(group));
  if (groups.length === 0) return { ok: false, reason: "oidc_no_allowed_group", user: name };
  return {
    ok: true,
    user: { name, groups },
    droppedGroups: claimed.filter((group) => !mapping.allowedGroups.has(group)),
  };
}
