// Pins the Debian packages the image takes from (image/recipe.ts) at the versions this machine's bookworm
// repositories serve now, with their checksums, into image/debian-packages.json. Run it after
// `apt-get update` when a pinned version is no longer served (Debian keeps only the newest of each
// suite), and review the change like any dependency update.
// Usage: node image/pin-debian-packages.ts
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { DEBIAN_PARTS, DEBIAN_PINS_FILE, type DebianPins } from "./recipe.ts";

const DISTRIBUTION = "bookworm";
const ARCHITECTURE = "amd64";

function candidate(name: string): { version: string; sha256: string } {
  let text: string;
  try {
    text = execFileSync("apt-cache", ["show", "--no-all-versions", `${name}:${ARCHITECTURE}`], {
      encoding: "utf8",
    });
  } catch (error) {
    throw new Error(
      `apt-cache knows no ${name}:${ARCHITECTURE} (${(error as Error).message.trim()}): run \`apt-get update\` on Debian ${DISTRIBUTION}`,
    );
  }
  const field = (key: string) => new RegExp(`^${key}: (\\S+)$`, "m").exec(text)?.[1];
  const version = field("Version");
  const sha256 = field("SHA256");
  if (!version || !sha256) throw new Error(`apt-cache show ${name} gave no Version or SHA256:\n${text}`);
  return { version, sha256 };
}

const codename = /^VERSION_CODENAME=(\S+)$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
if (codename !== DISTRIBUTION) {
  throw new Error(
    `pin on Debian ${DISTRIBUTION}, whose repositories the image's packages come from (this is ${codename})`,
  );
}
const pins: DebianPins = {
  distribution: DISTRIBUTION,
  architecture: ARCHITECTURE,
  packages: Object.fromEntries(
    DEBIAN_PARTS.map((part) => part.package)
      .sort()
      .map((name) => [name, candidate(name)]),
  ),
};
writeFileSync(DEBIAN_PINS_FILE, `${JSON.stringify(pins, null, 2)}\n`);
for (const [name, pin] of Object.entries(pins.packages)) console.log(`${name}=${pin.version}`);
