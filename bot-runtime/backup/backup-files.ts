import type { BackupScope } from "./format.ts";

// Names of the backup files `--out-dir` writes, and which of them `--keep` removes. A name says its scope
// and the snapshot's time (UTC, to the second), so names sort by time within a scope and no two scopes
// share a prefix: `tradingbot-all-20260105T031700Z.backup.age`,
// `tradingbot-bot-trading_grid-btc-20260105T031700Z.backup.age` ("_" never occurs in a namespace or name).

export const BACKUP_SUFFIX = ".backup.age";

export function scopePrefix(scope: BackupScope | { kind: "bot"; namespace: string; name: string }): string {
  return scope.kind === "all" ? "tradingbot-all-" : `tradingbot-bot-${scope.namespace}_${scope.name}-`;
}

/** `2026-01-05T03:17:00.123Z` -> `20260105T031700Z`. */
function compactTime(iso: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso);
  if (match === null) throw new Error(`not an ISO 8601 time: ${iso}`);
  return `${match[1]}${match[2]}${match[3]}T${match[4]}${match[5]}${match[6]}Z`;
}

export function backupFileName(scope: BackupScope, createdAt: string): string {
  return `${scopePrefix(scope)}${compactTime(createdAt)}${BACKUP_SUFFIX}`;
}

/**
 * The files of the same scope beyond the newest `keep` (by the time in their names), oldest first. Files
 * of other scopes and files not named by backupFileName are never chosen.
 */
export function backupsToRemove(fileNames: readonly string[], scope: BackupScope, keep: number): string[] {
  const prefix = scopePrefix(scope);
  const ours = fileNames
    .filter(
      (name) =>
        name.startsWith(prefix) &&
        /^\d{8}T\d{6}Z$/.test(name.slice(prefix.length, name.length - BACKUP_SUFFIX.length)) &&
        name.endsWith(BACKUP_SUFFIX),
    )
    .sort();
  return ours.slice(0, Math.max(0, ours.length - keep));
}
