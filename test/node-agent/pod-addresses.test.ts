import { describe, expect, it } from "vitest";
import { HOST_IP, PodAddressPool, parsePodCIDR } from "./pod-addresses.ts";

describe("pod addresses on the loopback network", () => {
  it("starts at 127.0.0.2 and gives every pod its own address", () => {
    const pool = new PodAddressPool();
    const addresses = ["a", "b", "c"].map((pod) => pool.allocate(pod));
    expect(addresses).toEqual(["127.0.0.2", "127.0.0.3", "127.0.0.4"]);
    expect(addresses).not.toContain(HOST_IP);
  });

  it("returns the same address when a pod asks again", () => {
    const pool = new PodAddressPool();
    const first = pool.allocate("a");
    pool.allocate("b");
    expect(pool.allocate("a")).toBe(first);
    expect(pool.addressOf("a")).toBe(first);
  });

  it("reuses a released address only after the others", () => {
    const pool = new PodAddressPool("127.9.9.0/24");
    const first = pool.allocate("a");
    pool.release("a");
    expect(pool.addressOf("a")).toBeUndefined();
    const next = pool.allocate("b");
    expect(next).not.toBe(first);
    for (let i = 0; i < 252; i++) pool.allocate(`filler-${i}`);
    expect(pool.allocate("c")).toBe(first);
  });

  it("continues past 127.0.0.254 with 127.0.1.1, skipping .0 and .255", () => {
    const pool = new PodAddressPool("127.0.0.0/16");
    const addresses = Array.from({ length: 256 }, (_, i) => pool.allocate(`pod-${i}`));
    expect(addresses[252]).toBe("127.0.0.254");
    expect(addresses[253]).toBe("127.0.1.1");
    expect(addresses.some((a) => a.endsWith(".0") || a.endsWith(".255"))).toBe(false);
    expect(new Set(addresses).size).toBe(addresses.length);
  });

  it("says when the range is exhausted", () => {
    const pool = new PodAddressPool("127.3.3.0/24");
    for (let i = 0; i < 254; i++) pool.allocate(`pod-${i}`);
    expect(() => pool.allocate("one-too-many")).toThrow(
      /no free pod address left in 127\.3\.3\.0-127\.3\.3\.255/,
    );
  });

  it("lets a pod keep the address it had, unless another pod holds it", () => {
    const pool = new PodAddressPool();
    expect(pool.claim("old", "127.0.0.50")).toBe(true);
    expect(pool.claim("old", "127.0.0.50")).toBe(true);
    expect(pool.claim("other", "127.0.0.50")).toBe(false);
    expect(pool.claim("outside", "10.0.0.5")).toBe(false);
    expect(pool.claim("host", HOST_IP)).toBe(false);
    expect(pool.allocate("new")).toBe("127.0.0.2");
  });

  it("accepts only loopback CIDRs with a prefix from 8 to 24", () => {
    expect(parsePodCIDR("127.42.0.0/16")).toEqual({ first: 0x7f2a0000, last: 0x7f2affff });
    expect(() => parsePodCIDR("10.0.0.0/16")).toThrow(/outside the loopback network/);
    expect(() => parsePodCIDR("127.0.0.0/30")).toThrow(/N from 8 to 24/);
    expect(() => parsePodCIDR("localhost")).toThrow(/must look like/);
  });
});
