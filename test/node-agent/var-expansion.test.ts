import { describe, expect, it } from "vitest";
import { expandVariables, lookupIn } from "./var-expansion.ts";

const lookup = lookupIn([
  ["POD_IP", "127.0.0.7"],
  ["PORT", "8080"],
  ["EMPTY", ""],
]);

describe("$(VAR) expansion as the kubelet does it", () => {
  it("replaces defined variables, wherever they appear", () => {
    expect(expandVariables("--listen=$(POD_IP):$(PORT)", lookup)).toBe("--listen=127.0.0.7:8080");
    expect(expandVariables("$(POD_IP)", lookup)).toBe("127.0.0.7");
    expect(expandVariables("a$(EMPTY)b", lookup)).toBe("ab");
  });

  it("leaves references to undefined variables as written", () => {
    expect(expandVariables("--x=$(UNDEFINED)", lookup)).toBe("--x=$(UNDEFINED)");
    expect(expandVariables("$()", lookup)).toBe("$()");
  });

  it("treats $$ as an escaped $", () => {
    expect(expandVariables("$$(POD_IP)", lookup)).toBe("$(POD_IP)");
    expect(expandVariables("$$$(POD_IP)", lookup)).toBe("$127.0.0.7");
    expect(expandVariables("cost: $$5", lookup)).toBe("cost: $5");
  });

  it("keeps a $ that does not start a reference, and incomplete references", () => {
    expect(expandVariables("$POD_IP", lookup)).toBe("$POD_IP");
    expect(expandVariables("price$", lookup)).toBe("price$");
    expect(expandVariables("$(POD_IP", lookup)).toBe("$(POD_IP");
    expect(expandVariables("$(POD_IP $(PORT)", lookup)).toBe("$(POD_IP $(PORT)");
  });

  it("lets a later definition of a name win", () => {
    expect(
      expandVariables(
        "$(A)",
        lookupIn([
          ["A", "first"],
          ["A", "second"],
        ]),
      ),
    ).toBe("second");
  });
});
