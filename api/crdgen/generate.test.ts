import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { firstDifference, generatedFiles } from "./generate.ts";

const page = [
  "tradingbot-spec",
  "tradingbot-status",
  "tradingbot-rules",
  "killswitch-spec",
  "killswitch-status",
  "killswitch-rules",
  "tradingpolicy-spec",
]
  .map((name) => `<!-- generated:${name} -->\n<!-- /generated:${name} -->`)
  .join("\n\n");

describe("generatedFiles", () => {
  it("writes one CRD per kind and fills every table of the API reference", () => {
    const files = generatedFiles(page);
    expect(files.map((file) => file.path)).toEqual([
      "crds/trading.botops.dev_tradingbots.yaml",
      "crds/trading.botops.dev_killswitches.yaml",
      "crds/trading.botops.dev_tradingpolicies.yaml",
      "docs/api.md",
    ]);
    const crd = load(files[0]?.content ?? "") as { kind: string; metadata: { name: string } };
    expect(crd).toMatchObject({
      kind: "CustomResourceDefinition",
      metadata: { name: "tradingbots.trading.botops.dev" },
    });
    const doc = files[3]?.content ?? "";
    expect(doc).toContain("| `spec.risk.maxDrawdownPct` | string | yes |");
    expect(doc).toContain("| `spec.strategy.grid.upperPrice` | lowerPrice must be below upperPrice |");
    expect(doc).toContain("| `spec.namespaces` | []string |  | `[]` |");
  });

  it("generates the same text on every run", () => {
    expect(generatedFiles(page)).toEqual(generatedFiles(page));
  });

  it("refuses a page that lost one of its generated sections", () => {
    expect(() =>
      generatedFiles("<!-- generated:tradingbot-spec -->\n<!-- /generated:tradingbot-spec -->"),
    ).toThrow("missing: tradingbot-status");
  });
});

describe("firstDifference", () => {
  it("points at the first line that differs", () => {
    expect(firstDifference("a\nb\nc", "a\nB\nc")).toEqual({ line: 2, expected: "b", actual: "B" });
    expect(firstDifference("a\nb", "a")).toEqual({ line: 2, expected: "b", actual: "(end of file)" });
  });
});
