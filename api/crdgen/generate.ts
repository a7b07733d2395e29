import { buildCrd, crdFileName, type ResourceDefinition } from "./crd.ts";
import { fieldRows, fieldTable, fillGeneratedSections, ruleRows, ruleTable } from "./docs.ts";
import type { JsonSchema } from "./json-schema.ts";
import { RESOURCES } from "./resources.ts";
import { renderGeneratedYaml } from "./yaml.ts";

export interface GeneratedFile {
  /** Relative to the repository root. */
  path: string;
  content: string;
}

export const API_DOC_PATH = "docs/api.md";

function docSections(resource: ResourceDefinition, root: JsonSchema): Record<string, string> {
  const name = resource.singular;
  const spec = root.properties?.spec ?? {};
  const status = root.properties?.status;
  const rules = ruleRows(spec, "spec");
  return {
    [`${name}-spec`]: fieldTable(fieldRows(spec, "spec")),
    ...(status ? { [`${name}-status`]: fieldTable(fieldRows(status, "status")) } : {}),
    ...(rules.length > 0 ? { [`${name}-rules`]: ruleTable(rules) } : {}),
  };
}

/** Everything `make crds` writes: one CRD per kind, and the generated tables of the API reference. */
export function generatedFiles(apiDoc: string): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  let sections: Record<string, string> = {};
  for (const resource of RESOURCES) {
    const crd = buildCrd(resource);
    const root = crd.spec.versions[0]?.schema.openAPIV3Schema ?? {};
    files.push({ path: crdFileName(resource), content: renderGeneratedYaml(crd) });
    sections = { ...sections, ...docSections(resource, root) };
  }
  files.push({ path: API_DOC_PATH, content: fillGeneratedSections(apiDoc, sections) });
  return files;
}

/** The first line where two texts differ, to point a reader of `make crds-check` at the change. */
export function firstDifference(
  expected: string,
  actual: string,
): { line: number; expected: string; actual: string } {
  const expectedLines = expected.split("\n");
  const actualLines = actual.split("\n");
  const length = Math.max(expectedLines.length, actualLines.length);
  for (let index = 0; index < length; index++) {
    if (expectedLines[index] !== actualLines[index]) {
      return {
        line: index + 1,
        expected: expectedLines[index] ?? "(end of file)",
        actual: actualLines[index] ?? "(end of file)",
      };
    }
  }
  return { line: 0, expected: "", actual: "" };
}
