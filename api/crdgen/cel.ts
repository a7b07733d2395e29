// CEL names the API server reserves: a property with one of these names is reached as `__name__`.
const CEL_RESERVED = new Set([
  "true",
  "false",
  "null",
  "in",
  "as",
  "break",
  "const",
  "continue",
  "else",
  "for",
  "function",
  "if",
  "import",
  "let",
  "loop",
  "package",
  "namespace",
  "return",
  "var",
  "void",
  "while",
]);

/** How a CEL rule refers to a property (`self.<field>`), escaped as the API server expects. */
export function celField(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.includes("__")) {
    throw new Error(`property name ${JSON.stringify(name)} cannot be used in a generated CEL rule`);
  }
  return CEL_RESERVED.has(name) ? `__${name}__` : name;
}
