// `make demo` and `make demo DEMO=tour`: the whole loop on one machine, with the paper samples.
// Usage: see USAGE in options.ts (node demo/main.ts --help).

import { relative } from "node:path";
import { runLive } from "./live.ts";
import { type DemoOptions, DemoUsageError, parseDemoArgs, USAGE } from "./options.ts";
import { isDemoSession, onLauncherGone, relaunchInOwnProcessGroup } from "./session.ts";
import { type DemoStack, startDemoStack } from "./stack.ts";
import { formatSeconds } from "./tables.ts";
import { runTour, TourCheckFailed } from "./tour.ts";

const say = (text: string) => process.stdout.write(`${text}\n`);
const progress = (line: string) => say(`==> ${line}`);

function parse(): DemoOptions | undefined {
  try {
    const args = parseDemoArgs(process.argv.slice(2), process.env);
    if (args.help) {
      say(USAGE);
      return undefined;
    }
    return args.options;
  } catch (error) {
    if (!(error instanceof DemoUsageError)) throw error;
    console.error(`${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

async function demo(options: DemoOptions): Promise<number> {
  const stopping = new AbortController();
  const requestStop = () => {
    if (!stopping.signal.aborted) progress("stopping: the demo tears down everything it started");
    stopping.abort();
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, requestStop);
  onLauncherGone(requestStop);

  const started = Date.now();
  let stack: DemoStack;
  try {
    stack = await startDemoStack(options, progress);
  } catch (error) {
    console.error(`the demo could not start: ${(error as Error).message}`);
    return 1;
  }
  progress(`up in ${formatSeconds(Date.now() - started)}; kubeconfig: ${stack.kubeconfigPath}`);
  progress(`logs of every component: ${relative(process.cwd(), stack.workDir) || "."}/`);
  say(`console: ${stack.console.url}  user: ${stack.console.user}  password: ${stack.console.password}`);

  let exitCode = 0;
  try {
    if (!stopping.signal.aborted) {
      if (options.mode === "tour") {
        await runTour({ stack, options, say, signal: stopping.signal });
      } else {
        await runLive({
          stack,
          options,
          write: (text) => process.stdout.write(text),
          redraw: process.stdout.isTTY === true,
          signal: stopping.signal,
        });
      }
    }
  } catch (error) {
    exitCode = 1;
    const what = error instanceof TourCheckFailed ? "a check failed" : "an error stopped the demo";
    console.error(`\nFAILED: ${what}: ${(error as Error).message}`);
  }

  const stopStarted = Date.now();
  await stack.stop();
  progress(`stopped in ${formatSeconds(Date.now() - stopStarted)}`);
  if (exitCode === 0 && options.mode === "tour") {
    say(`\nThe tour passed in ${formatSeconds(Date.now() - started)}.`);
  }
  if (exitCode !== 0) say(`the logs stay in ${relative(process.cwd(), stack.workDir) || "."}/`);
  return exitCode;
}

const options = parse();
if (options !== undefined) {
  // The launcher only passes signals on; the demo runs in a process group of its own (see session.ts).
  const code = isDemoSession() ? await demo(options) : await relaunchInOwnProcessGroup();
  // Stopped clients may still hold sockets for a moment: everything is down, so leave now.
  process.exit(code);
}
