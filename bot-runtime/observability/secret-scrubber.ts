// Path redaction (pino's `redact`) only catches a secret stored under a known key. A secret can also end
// up inside an error message, a stack, a URL or a response body, so every serialized log line is also
// scrubbed of the actual secret values, in each form they can take in a JSON line.

export const REDACTED = "[REDACTED]";

/** Shorter values would blank out ordinary text; they are refused at registration instead. */
export const MIN_SCRUBBABLE_LENGTH = 4;

export class SecretScrubber {
  #needles: string[] = [];

  /** Registers a secret; returns false when it is too short to scrub without mangling every line. */
  add(secret: string): boolean {
    const value = secret.trim();
    if (value.length < MIN_SCRUBBABLE_LENGTH) return false;
    const forms = new Set<string>([
      value,
      JSON.stringify(value).slice(1, -1),
      JSON.stringify(JSON.stringify(value).slice(1, -1)).slice(1, -1),
      encodeURIComponent(value),
    ]);
    // A PEM key can leak one line at a time (a wrapped error message); each line of its body is secret.
    for (const line of value.split(/\r?\n/)) {
      const body = line.trim();
      if (body.length >= 16 && !body.startsWith("-----")) forms.add(body);
    }
    for (const form of forms) if (form.length >= MIN_SCRUBBABLE_LENGTH) this.#needles.push(form);
    this.#needles = [...new Set(this.#needles)].sort((a, b) => b.length - a.length);
    return true;
  }

  scrub(text: string): string {
    let result = text;
    for (const needle of this.#needles) {
      if (result.includes(needle)) result = result.split(needle).join(REDACTED);
    }
    return result;
  }
}
