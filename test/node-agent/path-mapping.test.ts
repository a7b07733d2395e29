import { describe, expect, it } from "vitest";
import { containerPathMappings, mapContainerPath, temporaryDirectory } from "./path-mapping.ts";

const volumeDirs = new Map([
  ["config", "/state/pods/u1/volumes/config"],
  ["exchange", "/state/pods/u1/volumes/exchange"],
  ["tmp", "/state/pods/u1/volumes/tmp"],
  ["nested", "/state/pods/u1/volumes/nested"],
]);

const mappings = containerPathMappings({
  container: {
    name: "bot",
    volumeMounts: [
      { name: "config", mountPath: "/etc/tradingbot" },
      { name: "exchange", mountPath: "/var/run/secrets/tradingbot/exchange/", readOnly: true },
      { name: "nested", mountPath: "/etc/tradingbot/extra" },
      { name: "tmp", mountPath: "/tmp" },
    ],
    terminationMessagePath: "/dev/termination-log",
  },
  volumeDirs,
  terminationMessageFile: "/state/pods/u1/containers/bot/termination-log",
  lookupEnv: () => undefined,
});

describe("container paths rewritten to the pod's folders", () => {
  it("rewrites a value that is a mount path or a path below one", () => {
    expect(mapContainerPath("/etc/tradingbot", mappings)).toBe("/state/pods/u1/volumes/config");
    expect(mapContainerPath("/etc/tradingbot/config.json", mappings)).toBe(
      "/state/pods/u1/volumes/config/config.json",
    );
    expect(mapContainerPath("/tmp/scratch/file", mappings)).toBe("/state/pods/u1/volumes/tmp/scratch/file");
  });

  it("rewrites the value of --flag=path and NAME=path forms", () => {
    expect(mapContainerPath("--config=/etc/tradingbot/config.json", mappings)).toBe(
      "--config=/state/pods/u1/volumes/config/config.json",
    );
    expect(mapContainerPath("--exchange-credentials=/var/run/secrets/tradingbot/exchange", mappings)).toBe(
      "--exchange-credentials=/state/pods/u1/volumes/exchange",
    );
  });

  it("maps the termination-message path to the container's own file", () => {
    expect(mapContainerPath("--termination-log=/dev/termination-log", mappings)).toBe(
      "--termination-log=/state/pods/u1/containers/bot/termination-log",
    );
    expect(mapContainerPath("/dev/termination-log", mappings)).toBe(
      "/state/pods/u1/containers/bot/termination-log",
    );
  });

  it("prefers the innermost mount for nested mount paths", () => {
    expect(mapContainerPath("/etc/tradingbot/extra/a.json", mappings)).toBe(
      "/state/pods/u1/volumes/nested/a.json",
    );
  });

  it("leaves everything else alone", () => {
    for (const value of [
      "run",
      "--listen=127.0.0.5:8080",
      "/etc/tradingbot2/config.json",
      "/etc/tradingbotconfig",
      "/etc/passwd",
      "relative/etc/tradingbot",
      "--note=see /etc/tradingbot",
      "",
    ]) {
      expect(mapContainerPath(value, mappings)).toBe(value);
    }
  });

  it("finds the folder standing in for /tmp", () => {
    expect(temporaryDirectory(mappings)).toBe("/state/pods/u1/volumes/tmp");
    expect(temporaryDirectory(mappings.filter((m) => m.containerPath !== "/tmp"))).toBeUndefined();
  });

  it("honours subPath and subPathExpr", () => {
    const withSubPaths = containerPathMappings({
      container: {
        name: "c",
        volumeMounts: [
          { name: "config", mountPath: "/etc/app/config.json", subPath: "config.json" },
          { name: "tmp", mountPath: "/data", subPathExpr: "$(POD_NAME)/data" },
        ],
      },
      volumeDirs,
      terminationMessageFile: "/t",
      lookupEnv: (name) => (name === "POD_NAME" ? "pod-a" : undefined),
    });
    expect(mapContainerPath("--config=/etc/app/config.json", withSubPaths)).toBe(
      "--config=/state/pods/u1/volumes/config/config.json",
    );
    expect(mapContainerPath("/data/out", withSubPaths)).toBe("/state/pods/u1/volumes/tmp/pod-a/data/out");
  });

  it("refuses mounts of volumes the pod does not have, and subPaths leaving the volume", () => {
    const mount = (volumeMount: { name: string; mountPath: string; subPath?: string }) => () =>
      containerPathMappings({
        container: { name: "c", volumeMounts: [volumeMount] },
        volumeDirs,
        terminationMessageFile: "/t",
        lookupEnv: () => undefined,
      });
    expect(mount({ name: "missing", mountPath: "/x" })).toThrow(/no volume named "missing"/);
    expect(mount({ name: "config", mountPath: "/x", subPath: "../../etc" })).toThrow(/inside the volume/);
    expect(mount({ name: "config", mountPath: "relative" })).toThrow(/must be an absolute path/);
  });
});
