import { ApiError, api, type LoginOptions, type SessionInfo } from "./api.ts";
import { el, field, form, replace } from "./dom.ts";

// The login page: the OIDC issuer's "Sign in with <name>" (a plain link: the console redirects to the
// issuer and back, no script involved), the local users' password form, or both, as the console offers.

export function loginView(view: HTMLElement, onLoggedIn: (session: SessionInfo) => void): void {
  replace(view);
  api.loginOptions().then(
    (options) => replace(view, loginPanel(options, onLoggedIn)),
    // An older console without the options route still takes passwords.
    () => replace(view, loginPanel({ password: true, oidc: null }, onLoggedIn)),
  );
}

function loginPanel(options: LoginOptions, onLoggedIn: (session: SessionInfo) => void): HTMLElement {
  const signIn = options.oidc
    ? el(
        "p",
        {},
        el("a", { class: "button", href: options.oidc.startUrl }, `Sign in with ${options.oidc.name}`),
      )
    : undefined;
  if (!options.password) {
    return el("section", { class: "login", "aria-label": "Log in" }, el("h1", {}, "Log in"), signIn);
  }
  const message = el("p", { class: "error", role: "alert" });
  return form(
    { class: "login", "aria-label": "Log in" },
    async (data) => {
      replace(message);
      try {
        onLoggedIn(await api.login(String(data.get("username") ?? ""), String(data.get("password") ?? "")));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        replace(
          message,
          error.status === 429
            ? `Too many attempts: try again in ${error.retryAfterSeconds ?? "a few"} seconds.`
            : error.status === 401
              ? "Wrong username or password."
              : error.message,
        );
      }
    },
    el("h1", {}, "Log in"),
    signIn,
    signIn ? el("p", { class: "muted" }, "or with a console user's password:") : undefined,
    field("Username", el("input", { name: "username", autocomplete: "username", required: true })),
    field(
      "Password",
      el("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    el("button", { type: "submit" }, "Log in"),
    message,
  );
}
