import { readFileSync } from "node:fs";
import type { z } from "zod";
import { RuntimeConfig } from "../../api/v1alpha1/runtime-config.ts";

/** The config cannot be used; the runtime exits with RUNTIME_EXIT_CODES.invalidConfig. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length === 0 ? "(document)" : issue.path.join(".")}: ${issue.message}`)
    .join("; ");
}

/** Parses the rendered config document with the shared schema, naming each offending field. */
export function parseRuntimeConfig(text: string, source: string): RuntimeConfig {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${source} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = RuntimeConfig.safeParse(document);
  if (!parsed.success)
    throw new ConfigError(`${source} is not a valid runtime config: ${describeIssues(parsed.error.issues)}`);
  const config = parsed.data;
  if (config.exchange.mode === "paper" && config.exchange.endpoint === undefined) {
    throw new ConfigError(
      `${source}: exchange.endpoint is required in paper mode (the URL of the paper exchange, such as the exchange simulator)`,
    );
  }
  return config;
}

export function loadRuntimeConfig(path: string): RuntimeConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      `cannot read the runtime config ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`,
    );
  }
  return parseRuntimeConfig(text, path);
}
