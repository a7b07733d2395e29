import { describe, expect, it } from "vitest";
import { imageRepository, localProgram } from "./image-commands.ts";

describe("images and commands mapped to local programs", () => {
  it("strips tag and digest from an image reference, keeping a registry port", () => {
    expect(imageRepository("ghcr.io/botops/bot-runtime:0.1.0")).toBe("ghcr.io/botops/bot-runtime");
    expect(imageRepository("localhost:5000/bot@sha256:abc")).toBe("localhost:5000/bot");
    expect(imageRepository("localhost:5000/bot:1")).toBe("localhost:5000/bot");
    expect(imageRepository("bot")).toBe("bot");
  });

  it("replaces command[0] by the mapped program, matching the command or its base name", () => {
    const mapping = { "bot-runtime": ["/usr/bin/node", "/repo/main.js"] };
    for (const command of [
      ["bot-runtime", "run"],
      ["/usr/local/bin/bot-runtime", "run"],
    ]) {
      expect(localProgram({ name: "c", image: "x", command, args: ["--a=1"] }, mapping)).toEqual({
        program: ["/usr/bin/node", "/repo/main.js"],
        args: ["run", "--a=1"],
      });
    }
  });

  it("lets an image mapping stand for the image's entrypoint when the container has no command", () => {
    const mapping = { "local.test/stand-in": ["/bin/stand-in"] };
    expect(localProgram({ name: "c", image: "local.test/stand-in:2", args: ["--x"] }, mapping)).toEqual({
      program: ["/bin/stand-in"],
      args: ["--x"],
    });
  });
});
