import { APP_CONTENTS, IMAGE_USER, programs } from "../../image/recipe.ts";

// The image's application layout, from image/recipe.ts (which the Dockerfile and `make image-oci` both
// build): what it puts in /app and which programs it puts on PATH. The production-install test builds the
// same layout, so the two cannot drift apart.

export interface RuntimeLayout {
  /** Paths under /app (folders end in /). */
  copied: string[];
  /** Program name on PATH -> path under /app it links to. */
  programs: Record<string, string>;
  user: string;
}

export function readRuntimeLayout(repoRoot: string): RuntimeLayout {
  return {
    copied: [...APP_CONTENTS].sort(),
    programs: programs(repoRoot),
    user: `${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
  };
}
