import { describe, expect, it } from "vitest";
import { deepEqual, holdsDesiredFields } from "./json-compare.ts";

describe("deepEqual", () => {
  it("ignores key order and undefined values", () => {
    expect(deepEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1, d: undefined })).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});

describe("holdsDesiredFields", () => {
  const desired = {
    metadata: {
      name: "bot-network",
      labels: { app: "tradingbot" },
      ownerReferences: [{ uid: "u1", kind: "TradingBot", controller: true }],
    },
    spec: { policyTypes: ["Ingress", "Egress"], egress: [{ ports: [{ protocol: "TCP", port: 443 }] }] },
  };

  it("accepts server defaults and fields owned by others", () => {
    const actual = {
      metadata: {
        name: "bot-network",
        uid: "x",
        labels: { app: "tradingbot", extra: "by-someone" },
        ownerReferences: [
          { uid: "other" },
          { uid: "u1", kind: "TradingBot", controller: true, apiVersion: "v" },
        ],
      },
      spec: {
        policyTypes: ["Ingress", "Egress"],
        egress: [{ ports: [{ protocol: "TCP", port: 443, endPort: undefined }] }],
      },
    };
    expect(holdsDesiredFields(desired, actual)).toBe(true);
  });

  it("notices a changed value, a removed label and a list with an extra item", () => {
    expect(holdsDesiredFields(desired, { ...desired, metadata: { ...desired.metadata, labels: {} } })).toBe(
      false,
    );
    const extraRule = {
      ...desired,
      spec: { ...desired.spec, egress: [...desired.spec.egress, { ports: [] }] },
    };
    expect(holdsDesiredFields(desired, extraRule)).toBe(false);
    const otherPort = {
      ...desired,
      spec: { ...desired.spec, egress: [{ ports: [{ protocol: "TCP", port: 80 }] }] },
    };
    expect(holdsDesiredFields(desired, otherPort)).toBe(false);
  });

  it("treats a desired empty list as requiring an empty or absent one", () => {
    expect(holdsDesiredFields({ spec: { egress: [] } }, { spec: {} })).toBe(true);
    expect(holdsDesiredFields({ spec: { egress: [] } }, { spec: { egress: [{ ports: [] }] } })).toBe(false);
  });

  it("notices a missing owner reference", () => {
    expect(
      holdsDesiredFields(desired, { ...desired, metadata: { ...desired.metadata, ownerReferences: [] } }),
    ).toBe(false);
  });
});
