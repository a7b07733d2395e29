import { readFileSync } from "node:fs";
import { tlsRequest } from "../support/tls-request.ts";
import type { EtcdConnection } from "./control-plane.ts";

/**
 * Reads the raw bytes stored under `key` through etcd's JSON gateway (POST /v3/kv/range, keys and values
 * base64-encoded), bypassing the API server and its decryption. Resolves to undefined when the key is absent.
 */
export async function readEtcdValue(etcd: EtcdConnection, key: string): Promise<Buffer | undefined> {
  const res = await tlsRequest(
    `${etcd.endpoint}/v3/kv/range`,
    {
      ca: readFileSync(etcd.caCertPath, "utf8"),
      cert: readFileSync(etcd.certPath, "utf8"),
      key: readFileSync(etcd.keyPath, "utf8"),
    },
    { method: "POST", body: { key: Buffer.from(key).toString("base64") } },
  );
  if (res.status !== 200) throw new Error(`etcd range ${key}: HTTP ${res.status} ${res.body}`);
  const value = (JSON.parse(res.body) as { kvs?: { value?: string }[] }).kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, "base64");
}
