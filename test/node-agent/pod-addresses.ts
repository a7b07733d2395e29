// Pod IPs on the loopback network. Linux routes all of 127.0.0.0/8 to `lo`, so every pod can get its own
// address and bind its ports there without clashing with other pods or with services on 127.0.0.1.

/** The address of the host itself: never handed to a pod. */
export const HOST_IP = "127.0.0.1";

export const DEFAULT_POD_CIDR = "127.0.0.0/16";

function toNumber(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`${JSON.stringify(ip)} is not an IPv4 address`);
  }
  return parts.reduce((value, part) => value * 256 + part, 0);
}

function toAddress(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

/** First and last address of a CIDR inside 127.0.0.0/8, prefix length 8 to 24. */
export function parsePodCIDR(cidr: string): { first: number; last: number } {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  const prefix = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(prefix) || prefix < 8 || prefix > 24) {
    throw new Error(`pod CIDR ${JSON.stringify(cidr)} must look like 127.a.b.c/N with N from 8 to 24`);
  }
  const size = 2 ** (32 - prefix);
  const first = toNumber(match[1]) - (toNumber(match[1]) % size);
  if (first >>> 24 !== 127) {
    throw new Error(`pod CIDR ${cidr} is outside the loopback network 127.0.0.0/8: pods must bind on lo`);
  }
  return { first, last: first + size - 1 };
}

/**
 * Hands out one address per pod from a loopback CIDR, skipping the host address and any address whose
 * last octet is 0 or 255. Allocation continues after the last address handed out, so a freed address is
 * reused as late as possible (a client still holding the old pod's IP does not reach the new pod).
 */
export class PodAddressPool {
  readonly #first: number;
  readonly #last: number;
  readonly #byOwner = new Map<string, string>();
  readonly #owners = new Map<string, string>();
  #cursor: number;

  constructor(cidr: string = DEFAULT_POD_CIDR) {
    const range = parsePodCIDR(cidr);
    this.#first = range.first;
    this.#last = range.last;
    this.#cursor = range.first;
  }

  #usable(value: number): boolean {
    const lastOctet = value & 255;
    return lastOctet !== 0 && lastOctet !== 255 && toAddress(value) !== HOST_IP;
  }

  /** The owner's address: the one it already has, else the next free one. */
  allocate(owner: string): string {
    const existing = this.#byOwner.get(owner);
    if (existing) return existing;
    const size = this.#last - this.#first + 1;
    for (let step = 0; step < size; step++) {
      const candidate = this.#first + ((this.#cursor - this.#first + step) % size);
      const address = toAddress(candidate);
      if (!this.#usable(candidate) || this.#owners.has(address)) continue;
      this.#cursor = candidate + 1;
      this.#byOwner.set(owner, address);
      this.#owners.set(address, owner);
      return address;
    }
    throw new Error(
      `no free pod address left in ${toAddress(this.#first)}-${toAddress(this.#last)} (${this.#owners.size} in use)`,
    );
  }

  /**
   * Gives `owner` the address it had before (e.g. a pod found running when the agent starts). Returns false
   * when the address is outside the pool, unusable or held by another owner.
   */
  claim(owner: string, address: string): boolean {
    let value: number;
    try {
      value = toNumber(address);
    } catch {
      return false;
    }
    if (value < this.#first || value > this.#last || !this.#usable(value)) return false;
    const holder = this.#owners.get(address);
    if (holder !== undefined) return holder === owner;
    if (this.#byOwner.has(owner)) return false;
    this.#byOwner.set(owner, address);
    this.#owners.set(address, owner);
    return true;
  }

  release(owner: string): void {
    const address = this.#byOwner.get(owner);
    if (address === undefined) return;
    this.#byOwner.delete(owner);
    this.#owners.delete(address);
  }

  addressOf(owner: string): string | undefined {
    return this.#byOwner.get(owner);
  }
}
