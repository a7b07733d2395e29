import { readFileSync } from "node:fs";
import { join } from "node:path";

// The runtime stage of the Dockerfile, read as data: what it copies into /app and which programs it puts
// on PATH. The production-install test builds the same layout, so the two cannot drift apart.

export interface RuntimeLayout {
  /** Paths under /app, as the COPY instructions of the runtime stage name them (folders end in /). */
  copied: string[];
  /** Program name on PATH -> path under /app it links to. */
  programs: Record<string, string>;
  user: string;
}

export function readRuntimeLayout(repoRoot: string): RuntimeLayout {
  const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");
  // Instructions with their continuation lines joined.
  const instructions = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  const runtimeStart = instructions.findIndex((line) => /^FROM\s.+\sAS runtime$/i.test(line));
  if (runtimeStart < 0) throw new Error("the Dockerfile has no stage named runtime");
  const runtime = instructions.slice(runtimeStart + 1);
  const copied = runtime
    .filter((line) => line.startsWith("COPY "))
    .map((line) => line.split(/\s+/).at(-1) as string)
    .map((destination) => (destination === "./" ? "" : destination));
  const copiedFiles = runtime
    .filter((line) => line.startsWith("COPY ") && line.split(/\s+/).at(-1) === "./")
    .flatMap((line) =>
      line
        .split(/\s+/)
        .slice(1, -1)
        .filter((word) => !word.startsWith("--")),
    );
  const programs: Record<string, string> = {};
  for (const match of runtime.join("\n").matchAll(/ln -s \/app\/(\S+) \/usr\/local\/bin\/(\S+)/g)) {
    programs[match[2] as string] = match[1] as string;
  }
  const user = runtime.find((line) => line.startsWith("USER "))?.slice("USER ".length) ?? "";
  return { copied: [...copiedFiles, ...copied.filter((path) => path !== "")].sort(), programs, user };
}
