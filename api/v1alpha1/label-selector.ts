/** metav1.LabelSelector as it arrives: the operator may be older than the selector's writer. */
export interface SelectorShape {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * metav1.LabelSelector semantics: matchLabels and matchExpressions are ANDed; an absent or empty
 * selector matches everything.
 */
export function selectorMatches(selector: SelectorShape | undefined, labels: Record<string, string> = {}) {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    switch (operator) {
      case "In":
        if (!has || !values.includes(value as string)) return false;
        break;
      case "NotIn":
        if (has && values.includes(value as string)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        // An operator this code does not know selects nothing rather than everything.
        return false;
    }
  }
  return true;
}
