import { describe, expect, it } from "vitest";
import { isNewerVersion, ObjectCache, splitKey } from "./object-cache.ts";
import type { KubeObject } from "./types.ts";

const object = (
  name: string,
  resourceVersion: string,
  namespace = "t",
  extra: Partial<KubeObject["metadata"]> = {},
): KubeObject => ({
  metadata: { name, namespace, resourceVersion, ...extra },
});

describe("isNewerVersion", () => {
  it("compares resource versions as integers", () => {
    expect(isNewerVersion("10", "9")).toBe(true);
    expect(isNewerVersion("9", "10")).toBe(false);
    expect(isNewerVersion("10", "10")).toBe(false);
    expect(isNewerVersion(undefined, "10")).toBe(true);
  });
});

describe("ObjectCache", () => {
  it("ignores an update older than what it holds, so a late event never undoes a write", () => {
    const cache = new ObjectCache<KubeObject>();
    cache.upsert(object("a", "20"));
    expect(cache.upsert(object("a", "19"))).toBeUndefined();
    expect(cache.upsert(object("a", "20"))).toBeUndefined();
    expect(cache.get("t/a")?.metadata.resourceVersion).toBe("20");
    expect(cache.upsert(object("a", "21"))?.previous?.metadata.resourceVersion).toBe("20");
  });

  it("does not bring back an object deleted after the update was made", () => {
    const cache = new ObjectCache<KubeObject>();
    cache.upsert(object("a", "5"));
    cache.remove("t/a", "8");
    expect(cache.upsert(object("a", "7"))).toBeUndefined();
    expect(cache.get("t/a")).toBeUndefined();
    expect(cache.upsert(object("a", "9"))).toBeDefined();
  });

  it("notifies subscribers of adds, updates and deletes, from watches and writes alike", () => {
    const cache = new ObjectCache<KubeObject>();
    const seen: string[] = [];
    cache.subscribe({
      onAdd: (o) => seen.push(`add ${o.metadata.name}`),
      onUpdate: (p, c) => seen.push(`update ${p.metadata.resourceVersion}->${c.metadata.resourceVersion}`),
      onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    });
    cache.upsert(object("a", "1"));
    cache.upsert(object("a", "2"));
    cache.remove("t/a", "3");
    expect(seen).toEqual(["add a", "update 1->2", "delete a"]);
  });

  it("keeps indexes in step with updates", () => {
    const cache = new ObjectCache<KubeObject>();
    cache.addIndex("team", (o) => [o.metadata.labels?.team ?? ""]);
    cache.upsert(object("a", "1", "t", { labels: { team: "x" } }));
    cache.upsert(object("b", "1", "t", { labels: { team: "x" } }));
    expect(cache.byIndex("team", "x").sort()).toEqual(["t/a", "t/b"]);
    cache.upsert(object("a", "2", "t", { labels: { team: "y" } }));
    expect(cache.byIndex("team", "x")).toEqual(["t/b"]);
    expect(cache.byIndex("team", "y")).toEqual(["t/a"]);
  });

  it("replaces its scope with a relist, keeping objects written after the list began", () => {
    const cache = new ObjectCache<KubeObject>();
    cache.upsert(object("gone", "3"));
    cache.upsert(object("written-later", "12"));
    cache.upsert(object("other-namespace", "4", "u"));
    cache.replace([object("kept", "9")], "10", (o) => o.metadata.namespace === "t");
    expect([...cache.keys()].sort()).toEqual(["t/kept", "t/written-later", "u/other-namespace"]);
  });

  it("stores what its transform keeps", () => {
    const cache = new ObjectCache<KubeObject>((o) => ({
      metadata: { name: o.metadata.name, namespace: o.metadata.namespace },
    }));
    cache.upsert(object("a", "1", "t", { labels: { big: "x" } }));
    expect(cache.get("t/a")).toEqual({ metadata: { name: "a", namespace: "t" } });
  });
});

describe("splitKey", () => {
  it("splits namespace/name and reads a bare name as cluster-scoped", () => {
    expect(splitKey("t/bot")).toEqual({ namespace: "t", name: "bot" });
    expect(splitKey("fleet")).toEqual({ namespace: "", name: "fleet" });
  });
});
