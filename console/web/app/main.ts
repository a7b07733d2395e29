import { api, FleetFeed, type SessionInfo, whenSignedOut } from "./api.ts";
import { botView } from "./bot.ts";
import { fleetView } from "./fleet.ts";
import { killSwitchesView } from "./killswitches.ts";
import { loginView } from "./login.ts";

// The page's shell: log in, then route on the URL's hash to the fleet, one bot, or the KillSwitches.

const view = document.getElementById("view") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const who = document.getElementById("who") as HTMLElement;
const logout = document.getElementById("logout") as HTMLButtonElement;
const feed = new FleetFeed();
let leave: () => void = () => {};

function signedOut(): void {
  leave();
  leave = () => {};
  feed.stop();
  nav.hidden = true;
  logout.hidden = true;
  who.textContent = "";
  loginView(view, signedIn);
}

function signedIn(session: SessionInfo): void {
  nav.hidden = false;
  logout.hidden = false;
  who.textContent = `${session.user.name} (${session.user.groups.join(", ")})`;
  feed.start();
  route();
}

function route(): void {
  leave();
  const [, page, ...rest] = location.hash.split("/");
  if (page === "bots" && rest.length === 2) {
    leave = botView(view, feed, decodeURIComponent(rest[0] as string), decodeURIComponent(rest[1] as string));
  } else if (page === "killswitches") {
    leave = killSwitchesView(view);
  } else {
    leave = fleetView(view, feed);
  }
}

whenSignedOut(signedOut);
window.addEventListener("hashchange", () => {
  if (!nav.hidden) route();
});
logout.addEventListener("click", () => {
  void api.logout().finally(signedOut);
});
void api.session().then((session) => (session ? signedIn(session) : signedOut()));
