import { describe, expect, it } from "vitest";
import { createMergePatch } from "./merge-patch.ts";

/** RFC 7386 applied, to check patches round-trip. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    typeof target === "object" && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

describe("createMergePatch", () => {
  it("nulls removed keys, including nested ones", () => {
    const from = { phase: "Halting", podName: "b", halt: { engaged: true, source: "Spec", reason: "x" } };
    const to = { phase: "Running", halt: { engaged: false } };
    expect(createMergePatch(from, to)).toEqual({
      phase: "Running",
      podName: null,
      halt: { engaged: false, source: null, reason: null },
    });
  });

  it("replaces lists whole and leaves unchanged keys out", () => {
    const from = { conditions: [{ type: "Ready", status: "False" }], observedGeneration: 2 };
    const to = { conditions: [{ type: "Ready", status: "True" }], observedGeneration: 2 };
    expect(createMergePatch(from, to)).toEqual({ conditions: [{ type: "Ready", status: "True" }] });
  });

  it("round-trips: applying the patch to the old value gives the new one", () => {
    const from = { a: 1, b: { c: 2, d: [1] }, e: "x" };
    const to = { a: 2, b: { d: [1, 2], f: { g: true } } };
    expect(applyMergePatch(from, createMergePatch(from, to))).toEqual(to);
  });
});
