// Builds the page from data with text nodes and attributes only: nothing the API returns is ever parsed as
// HTML, so a bot or reason carrying markup shows as text. Handlers are attached as listeners (the CSP
// allows no inline script).

type Child = Node | string | number | undefined | null | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : value);
  }
  element.append(
    ...children
      .filter((c): c is Node | string | number => c !== undefined && c !== null && c !== false)
      .map((c) => (typeof c === "number" ? String(c) : c)),
  );
  return element;
}

export function on<E extends HTMLElement>(element: E, event: string, handler: (event: Event) => void): E {
  element.addEventListener(event, handler);
  return element;
}

/** A form whose submit is handled here (never sent by the browser itself). */
export function form(
  attributes: Record<string, string | undefined>,
  onSubmit: (data: FormData, form: HTMLFormElement) => void | Promise<void>,
  ...children: Child[]
): HTMLFormElement {
  const element = el("form", attributes, ...children);
  element.addEventListener("submit", (event) => {
    event.preventDefault();
    void onSubmit(new FormData(element), element);
  });
  return element;
}

export function field(label: string, input: HTMLElement): HTMLLabelElement {
  return el("label", {}, label, input);
}

export function replace(target: HTMLElement, ...children: Child[]): void {
  target.replaceChildren(
    ...children
      .filter((c): c is Node | string | number => c !== undefined && c !== null && c !== false)
      .map((c) => (typeof c === "number" ? String(c) : c)),
  );
}

export function formatTime(iso: string | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace("T", " ").slice(0, 19);
}
