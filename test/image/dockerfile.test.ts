// The Dockerfile read as a file (no Docker engine here): it must build the image of image/recipe.ts and
// nothing else. Rather than listing files of its own, it runs the recipe's assembler (image/rootfs.ts) in a
// stage and its final stage copies that rootfs alone into an empty image. So what is checked here is that
// structure: a final stage FROM scratch whose only file instruction is that COPY (a RUN cannot run there:
// there is no shell), the assembler invoked, its inputs admitted by .dockerignore, and the configuration
// instructions equal to the recipe's. A file added to the image on either side shows up in both builds
// or fails this test; comparing COPY lines with a file list would miss what a stage's RUN produces.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageConfig, RECIPE_INPUTS } from "../../image/recipe.ts";

const REPO_ROOT = join(import.meta.dirname, "..", "..");

interface Stage {
  from: string;
  name?: string;
  /** Instructions with continuation lines joined, comments dropped. */
  instructions: { keyword: string; args: string }[];
}

function readStages(): Stage[] {
  const lines = readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8")
    .replace(/\\\n\s*/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [keyword = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (keyword.toUpperCase() === "FROM") {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match?.[1] ?? args, ...(match?.[2] ? { name: match[2] } : {}), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ keyword: keyword.toUpperCase(), args });
    }
  }
  return stages;
}

const stages = readStages();
const image = stages.at(-1) as Stage;
const all = (keyword: string) => image.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

describe("the Dockerfile", () => {
  it("ends in an empty image that copies in the rootfs image/rootfs.ts assembled, and nothing else", () => {
    expect(image.from).toBe("scratch");
    const allowed = ["ARG", "LABEL", "COPY", "ENV", "WORKDIR", "USER", "ENTRYPOINT", "CMD"];
    expect(image.instructions.map((i) => i.keyword).filter((keyword) => !allowed.includes(keyword))).toEqual(
      [],
    );
    const copies = all("COPY");
    expect(copies).toHaveLength(1);
    const copy = /^--from=(\S+) (\S+) \/$/.exec(copies[0] as string);
    expect(copy, copies[0]).not.toBeNull();
    const [, stageName, rootfs] = copy as RegExpExecArray;
    const assembler = stages.find((stage) => stage.name === stageName);
    expect(assembler, `a stage named ${stageName}`).toBeDefined();
    const runs = (assembler as Stage).instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
    expect(
      runs.some((args) => args.includes(`node image/rootfs.ts ${(rootfs as string).replace(/\/$/, "")}`)),
    ).toBe(true);
  });

  it("gives the image the recipe's user, environment, working directory, command and labels", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's build arguments, verbatim
    const config = imageConfig({ version: "${VERSION}", revision: "${REVISION}", created: "${CREATED}" });
    expect(all("USER")).toEqual([config.user]);
    expect(all("WORKDIR")).toEqual([config.workingDir]);
    expect(all("ENTRYPOINT").map((args) => JSON.parse(args))).toEqual([config.entrypoint]);
    expect(all("CMD").map((args) => JSON.parse(args))).toEqual([config.cmd]);
    const env = Object.fromEntries(
      all("ENV")
        .flatMap((args) => args.split(/\s+/))
        .map((pair) => pair.split(/=(.*)/s).slice(0, 2)),
    );
    expect(env).toEqual(config.env);
    const labels = Object.fromEntries(
      all("LABEL").flatMap((args) => [...args.matchAll(/(\S+?)="([^"]*)"/g)].map((m) => [m[1], m[2]])),
    );
    expect(labels).toEqual(config.labels);
  });

  it("sends the recipe and what the build compiles into the build context, which admits nothing else", () => {
    const dockerignore = readFileSync(join(REPO_ROOT, ".dockerignore"), "utf8").split("\n");
    expect(dockerignore.find((line) => line.trim() !== "" && !line.startsWith("#"))).toBe("*");
    const admitted = dockerignore.filter((line) => line.startsWith("!")).map((line) => line.slice(1));
    for (const input of RECIPE_INPUTS) expect(admitted, input).toContain(input);
    const copied = stages
      .flatMap((stage) => stage.instructions)
      .filter((i) => i.keyword === "COPY" && !i.args.startsWith("--from="))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(copied.filter((source) => !admitted.includes(source))).toEqual([]);
  });
});
