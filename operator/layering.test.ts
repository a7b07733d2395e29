import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The operator's folders import downward only: `kube/` is a Kubernetes toolkit that knows nothing of
// TradingBots, the builders of `desired-state/` know nothing of the controllers, and only the entry
// point wires everything together. These rules are read off the import statements themselves.

const OPERATOR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(OPERATOR, "..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every relative import of a file, as a path from the project root. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)];
  return specifiers.map((match) => relative(ROOT, resolve(dirname(file), match[1] as string)));
}

/** Imports of the files under `folder` that `allowed` refuses, as "file -> import". */
function violations(folder: string, allowed: (target: string) => boolean): string[] {
  return sourceFiles(join(OPERATOR, folder)).flatMap((file) =>
    relativeImports(file)
      .filter((target) => !allowed(target))
      .map((target) => `${relative(ROOT, file)} -> ${target}`),
  );
}

describe("the operator's layers", () => {
  it("kube/ imports nothing outside kube/: no controller, no project names, no API types", () => {
    expect(violations("kube", (target) => target.startsWith("operator/kube/"))).toEqual([]);
  });

  it("desired-state/ builds from the API and the project's names, never from a controller", () => {
    const allowed = (target: string) =>
      target.startsWith("api/") ||
      target.startsWith("operator/desired-state/") ||
      target.startsWith("operator/kube/") ||
      target === "operator/names.ts";
    expect(violations("desired-state", allowed)).toEqual([]);
  });

  it("no controller imports the wiring (manager.ts) or the entry point", () => {
    const allowed = (target: string) => target !== "operator/manager.ts" && target !== "operator/main.ts";
    for (const folder of ["kube", "tradingbot", "killswitch", "desired-state", "ops"]) {
      expect(violations(folder, allowed), folder).toEqual([]);
    }
  });
});
