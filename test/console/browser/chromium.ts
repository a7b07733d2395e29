import { type Browser, chromium } from "playwright-core";

// Debian's Chromium (`make browser`), or the binary CHROMIUM_PATH names, driven by playwright-core: as
// root, headless, with nothing reaching out to the network on its own.

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}
