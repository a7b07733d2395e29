import { isNotFound, type KubeApi } from "../kube/client.ts";
import { isNewerVersion, type ObjectCache, objectKey } from "../kube/object-cache.ts";
import type { KubeObject, Secret } from "../kube/types.ts";
import { RESOURCES } from "../resources.ts";
import { type SecretFacts, type SecretLookup, secretFacts } from "./credentials.ts";

/**
 * Facts about referenced Secrets. Which Secrets exist, and their versions, come from a metadata-only
 * watch; a Secret is read (GET) only when a bot references it and its version is new to the operator.
 * Values are dropped as soon as the facts are taken: nothing but key names and the database port stays.
 */
export class SecretFactsSource {
  readonly #api: KubeApi;
  readonly #metadata: ObjectCache<KubeObject>;
  readonly #facts = new Map<string, SecretFacts>();
  readonly #inFlight = new Map<string, Promise<SecretLookup>>();

  constructor(api: KubeApi, metadata: ObjectCache<KubeObject>) {
    this.#api = api;
    this.#metadata = metadata;
  }

  /** Resolves without a request when the version in the watch is the one already read. */
  async lookup(namespace: string, name: string): Promise<SecretLookup> {
    const key = objectKey(namespace, name);
    const meta = this.#metadata.get(key);
    if (!meta) return { found: false };
    const known = this.#facts.get(key);
    if (known && !isNewerVersion(meta.metadata.resourceVersion, known.resourceVersion)) {
      return { found: true, facts: known };
    }
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    const read = this.#read(namespace, name, key).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, read);
    return read;
  }

  async #read(namespace: string, name: string, key: string): Promise<SecretLookup> {
    try {
      const secret = await this.#api.get<Secret>(RESOURCES.secrets, namespace, name);
      const facts = secretFacts(secret);
      this.#facts.set(key, facts);
      return { found: true, facts };
    } catch (error) {
      if (isNotFound(error)) {
        this.#facts.delete(key);
        return { found: false };
      }
      throw error;
    }
  }

  forget(key: string) {
    this.#facts.delete(key);
  }
}
