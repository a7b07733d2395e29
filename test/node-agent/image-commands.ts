import { posix } from "node:path";
import type { V1Container } from "@kubernetes/client-node";

/**
 * How a container is run without images: a key names an image (`ghcr.io/x/bot:1.2`, or without tag or
 * digest `ghcr.io/x/bot`) or a command (`bot-runtime`, the first element of the container's `command`);
 * the value is the argv prefix of the local program standing in for it.
 */
export type ImageCommands = Readonly<Record<string, readonly string[]>>;

/** `registry/repo:tag` and `registry/repo@sha256:...` without tag and digest; a registry port is kept. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split("@")[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

/**
 * The local program of a container: `program` is the mapped argv prefix (host paths, used as is), `args`
 * the container's remaining command and args (still to be expanded and path-mapped); or why there is
 * none. An image key stands for the image's program: it replaces the container's command[0] (or the image
 * entrypoint when the container has no command). Otherwise a command key matching command[0] (or its base
 * name) replaces command[0]. Image keys are tried first, so a test can route one image elsewhere whatever
 * its command says.
 */
export function localProgram(
  container: Pick<V1Container, "name" | "image" | "command" | "args">,
  imageCommands: ImageCommands,
): { program: string[]; args: string[] } | { error: string } {
  const command = container.command ?? [];
  const args = container.args ?? [];
  const image = container.image ?? "";
  const byImage = imageCommands[image] ?? imageCommands[imageRepository(image)];
  if (byImage) return { program: [...byImage], args: [...command.slice(1), ...args] };
  const entrypoint = command[0];
  if (entrypoint !== undefined) {
    const byCommand = imageCommands[entrypoint] ?? imageCommands[posix.basename(entrypoint)];
    if (byCommand) return { program: [...byCommand], args: [...command.slice(1), ...args] };
  }
  const known = Object.keys(imageCommands).sort().join(", ") || "none";
  return {
    error:
      `container ${container.name}: neither image ${JSON.stringify(image)} nor command ` +
      `${JSON.stringify(entrypoint ?? "")} has a local command (known images and commands: ${known}); ` +
      "add one to the agent's imageCommands",
  };
}
