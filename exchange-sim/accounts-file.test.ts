import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseAccountsFile } from "./accounts-file.ts";
import { createExchangeSim } from "./index.ts";

const ed25519Public = generateKeyPairSync("ed25519")
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();
const rsaPublic = generateKeyPairSync("rsa", { modulusLength: 1024 })
  .publicKey.export({ type: "spki", format: "pem" })
  .toString();

describe("accounts file", () => {
  it("accepts HMAC and Ed25519 keys with balances and permission defaults", () => {
    const accounts = parseAccountsFile(
      JSON.stringify([
        { apiKey: "hmac-key", secret: "s", balances: { USDT: "10000", BTC: "0.5" } },
        { apiKey: "ed-key", publicKeyPem: ed25519Public, canWithdraw: true },
      ]),
      "accounts.json",
    );
    expect(accounts).toEqual([
      {
        apiKey: "hmac-key",
        secret: "s",
        balances: { USDT: "10000", BTC: "0.5" },
        canWithdraw: false,
        canTrade: true,
      },
      { apiKey: "ed-key", publicKeyPem: ed25519Public, canWithdraw: true, canTrade: true },
    ]);
  });

  it("names the file, entry and field of every problem, with what is allowed", () => {
    expect(() => parseAccountsFile("{", "a.json")).toThrow("accounts file a.json: not valid JSON");
    expect(() => parseAccountsFile("[]", "a.json")).toThrow(
      "accounts file a.json: (top level): must list at least one account",
    );
    expect(() =>
      parseAccountsFile(
        JSON.stringify([{ apiKey: "k", secret: "s", publicKeyPem: ed25519Public }]),
        "a.json",
      ),
    ).toThrow(
      "accounts file a.json: [0].secret: give exactly one of secret (HMAC-SHA256) or publicKeyPem (Ed25519)",
    );
    expect(() =>
      parseAccountsFile(JSON.stringify([{ apiKey: "k", publicKeyPem: rsaPublic }]), "a.json"),
    ).toThrow("[0].publicKeyPem: publicKeyPem must be an Ed25519 key (got rsa); RSA keys are not supported");
    expect(() => parseAccountsFile(JSON.stringify([{ apiKey: "has space", secret: "s" }]), "a.json")).toThrow(
      "[0].apiKey: must be 1 to 128 characters of letters, digits, '.', '_' or '-'",
    );
  });

  it("groups keys that name the same accountId into one account with shared balances", () => {
    const sim = createExchangeSim({
      accounts: [
        { apiKey: "first", secret: "a", accountId: "shared", balances: { USDT: "7" } },
        { apiKey: "second", secret: "b", accountId: "shared" },
        { apiKey: "third", secret: "c" },
      ],
    });
    expect(
      sim.accounts().map((account) => [account.accountId, account.keys.length, account.balances.USDT?.free]),
    ).toEqual([
      ["shared", 2, "7.00000000"],
      ["account-1", 1, undefined],
    ]);
    expect(() =>
      createExchangeSim({
        accounts: [
          { apiKey: "first", secret: "a", accountId: "shared", balances: { USDT: "7" } },
          { apiKey: "second", secret: "b", accountId: "shared", balances: { USDT: "1" } },
        ],
      }),
    ).toThrow("accounts[1]: account shared already exists; to add a key to it give only apiKey");
    expect(() =>
      createExchangeSim({
        accounts: [
          { apiKey: "same", secret: "a" },
          { apiKey: "same", secret: "b" },
        ],
      }),
    ).toThrow("accounts[1].apiKey: key key-");
  });
});
