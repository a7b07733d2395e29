// `make crds`: writes crds/ and the generated tables of docs/api.md from the zod schemas in api/v1alpha1.
// `make crds-check` (--check): writes nothing and fails when any of those files differs from what it would write.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { API_DOC_PATH, firstDifference, type GeneratedFile, generatedFiles } from "./generate.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const check = process.argv.includes("--check");

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}

const apiDoc = readIfExists(join(root, API_DOC_PATH));
if (apiDoc === undefined) {
  console.error(`${API_DOC_PATH} is missing: it holds the prose around the generated field tables`);
  process.exit(1);
}

/** Markdown as Biome formats it (it pads tables), so that `make lint` and `make crds-check` want one text. */
function formatAsBiomeDoes(file: GeneratedFile): GeneratedFile {
  if (!file.path.endsWith(".md")) return file;
  const content = execFileSync(
    join(root, "node_modules", ".bin", "biome"),
    ["format", `--stdin-file-path=${file.path}`],
    {
      cwd: root,
      input: file.content,
      encoding: "utf8",
    },
  );
  return { ...file, content };
}

const files = generatedFiles(apiDoc).map(formatAsBiomeDoes);

if (check) {
  const stale = files.filter((file) => readIfExists(join(root, file.path)) !== file.content);
  for (const file of stale) {
    const committed = readIfExists(join(root, file.path));
    if (committed === undefined) {
      console.error(`${file.path} is missing`);
      continue;
    }
    const difference = firstDifference(file.content, committed);
    console.error(
      `${file.path} is not what the schemas in api/v1alpha1 generate; first difference at line ${difference.line}:\n` +
        `  generated: ${difference.expected}\n` +
        `  on disk:   ${difference.actual}`,
    );
  }
  if (stale.length > 0) {
    console.error("run `make crds`, then review the change with `git diff crds/ docs/api.md`");
    process.exit(1);
  }
  console.log(`${files.map((file) => file.path).join(", ")} match api/v1alpha1`);
} else {
  for (const file of files) {
    mkdirSync(dirname(join(root, file.path)), { recursive: true });
    writeFileSync(join(root, file.path), file.content);
    console.log(`wrote ${file.path}`);
  }
}
