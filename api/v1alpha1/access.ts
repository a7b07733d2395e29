import { GROUP } from "./group.ts";

// Who may change what, beyond what RBAC can say. RBAC grants `update` on a whole object; the admission
// policies of api/access/ narrow it by field, keyed on these names.

/**
 * The RBAC verb (on `tradingbots` or `killswitches`) that a change beyond halting needs. Without it, an
 * update may change only a TradingBot's `spec.killSwitch`, or a KillSwitch's `spec.engaged` and
 * `spec.reason`: that is what a halter may do. The editor role and cluster admins (`*`) hold it.
 */
export const CONFIGURE_VERB = "configure";

/**
 * Set at admission to the user who last changed a TradingBot's `spec.killSwitch` or a KillSwitch's
 * `spec.engaged` (or created it). Nobody may set it by hand; the operator reports it as `status.halt.by`.
 */
export const KILL_SWITCH_CHANGED_BY_ANNOTATION = `${GROUP}/kill-switch-changed-by`;

/** The fields of a TradingBot's spec a halter may change. */
export const TRADING_BOT_HALT_FIELDS = ["killSwitch"] as const;
/** The fields of a KillSwitch's spec a halter may change. */
export const KILL_SWITCH_HALT_FIELDS = ["engaged", "reason"] as const;
