import { describe, expect, it } from "vitest";
import { backupFileName, backupsToRemove } from "./backup-files.ts";

describe("backup file names", () => {
  it("say the scope and the snapshot's time", () => {
    expect(backupFileName({ kind: "all" }, "2026-01-05T03:17:09.123Z")).toBe(
      "tradingbot-all-20260105T031709Z.backup.age",
    );
    expect(
      backupFileName(
        { kind: "bot", namespace: "trading", name: "grid-btc", uids: ["u"] },
        "2026-01-05T03:17:09Z",
      ),
    ).toBe("tradingbot-bot-trading_grid-btc-20260105T031709Z.backup.age");
  });

  it("keep the newest of the scope and touch nothing else", () => {
    const files = [
      "tradingbot-all-20260103T031700Z.backup.age",
      "tradingbot-all-20260101T031700Z.backup.age",
      "tradingbot-all-20260102T031700Z.backup.age",
      "tradingbot-bot-trading_grid-btc-20251201T000000Z.backup.age",
      "tradingbot-bot-trading_grid-btc-x-20251201T000000Z.backup.age",
      ".tradingbot-all-20251201T000000Z.backup.age.0a1b.partial",
      "tradingbot-all-notes.txt",
      "lost+found",
    ];
    expect(backupsToRemove(files, { kind: "all" }, 2)).toEqual([
      "tradingbot-all-20260101T031700Z.backup.age",
    ]);
    expect(backupsToRemove(files, { kind: "all" }, 3)).toEqual([]);
    expect(
      backupsToRemove(files, { kind: "bot", namespace: "trading", name: "grid-btc", uids: ["u"] }, 1),
    ).toEqual([]);
  });
});
