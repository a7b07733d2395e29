import { fileURLToPath } from "node:url";
import { hashPasswordCommand, readStdin } from "./hash-password.ts";
import { OptionsError, parseConsoleFlags } from "./server/options.ts";
import { startConsole } from "./server/start.ts";

// The console's entry point: `console [flags]` serves; `console hash-password` prints a hash for the
// users file from a password read on stdin.

export { type RunningConsole, type StartOptions, startConsole } from "./server/start.ts";

const DEFAULT_WEB_DIR = fileURLToPath(new URL("./web/", import.meta.url));

async function main(argv: string[]): Promise<void> {
  if (argv[0] === "hash-password") {
    if (argv.length > 1)
      throw new OptionsError("hash-password: takes no arguments; the password is read from stdin");
    process.stdout.write(`${await hashPasswordCommand(await readStdin(process.stdin))}\n`);
    return;
  }
  const running = await startConsole(parseConsoleFlags(argv, { webDir: DEFAULT_WEB_DIR }));
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      running.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof OptionsError ? 2 : 1);
  });
}
