import { ApiError, api, type SessionInfo } from "./api.ts";
import { el, field, form, replace } from "./dom.ts";

export function loginView(view: HTMLElement, onLoggedIn: (session: SessionInfo) => void): void {
  const message = el("p", { class: "error", role: "alert" });
  const login = form(
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
    field("Username", el("input", { name: "username", autocomplete: "username", required: true })),
    field(
      "Password",
      el("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ),
    el("button", { type: "submit" }, "Log in"),
    message,
  );
  replace(view, login);
}
