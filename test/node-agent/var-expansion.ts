// `$(VAR)` expansion as the kubelet applies it to env values, command and args (a port of Kubernetes'
// third_party/forked/golang/expansion): `$(NAME)` becomes the value of NAME when it is defined and stays
// as written when it is not, `$$` is an escaped `$`, and any other `$` is kept literally.

const OPERATOR = "$";
const OPENER = "(";
const CLOSER = ")";

/** Expands every `$(NAME)` in `input` for which `lookup` returns a value. */
export function expandVariables(input: string, lookup: (name: string) => string | undefined): string {
  let output = "";
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== OPERATOR || cursor + 1 >= input.length) continue;
    output += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    const { text, advance } = readReference(rest, lookup);
    output += text;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return output + input.slice(checkpoint);
}

function readReference(
  rest: string,
  lookup: (name: string) => string | undefined,
): { text: string; advance: number } {
  if (rest[0] === OPERATOR) return { text: OPERATOR, advance: 1 };
  if (rest[0] === OPENER) {
    const close = rest.indexOf(CLOSER, 1);
    if (close === -1) return { text: OPERATOR + OPENER, advance: 1 };
    const name = rest.slice(1, close);
    return { text: lookup(name) ?? `${OPERATOR}${OPENER}${name}${CLOSER}`, advance: close + 1 };
  }
  return { text: OPERATOR + rest[0], advance: 1 };
}

/** A lookup over variables defined in order, later definitions winning (the kubelet's env semantics). */
export function lookupIn(
  variables: ReadonlyArray<readonly [string, string]>,
): (name: string) => string | undefined {
  const byName = new Map(variables);
  return (name) => byName.get(name);
}
