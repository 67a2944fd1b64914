import type { ResultView } from "../output/render.js";
import type { CommandContext } from "./command-context.js";

export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
}

export interface OptionSpec {
  /** Commander flag syntax, e.g. "-p, --payload <json>" or "--yes". */
  flags: string;
  description: string;
  /** Collect every occurrence into an array (--env, --build-arg). */
  repeatable?: boolean;
  defaultValue?: string | boolean;
  /** The values it accepts (the handler still checks them): an enum in the MCP tool's schema. */
  choices?: readonly string[];
  /** What the value is, for the MCP tool's schema; commander still hands the handler a string. */
  valueType?: "integer" | "number" | "json";
  /** Left out of the MCP tool (it never ends, or only makes sense on a terminal). */
  mcp?: false;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** A command as data plus one handler; help, docs and tests are all driven from these. */
export interface CommandSpec {
  name: string;
  aliases?: string[];
  summary: string;
  description?: string;
  args?: ArgSpec[];
  options?: OptionSpec[];
  examples: string[];
  /**
   * Deletes or replaces something that cannot be brought back (delete, rollback): its MCP tool
   * carries the destructive annotation and runs only with `yes: true`.
   */
  destructive?: boolean;
  /** Commands under this one (`dev doctor`); the command itself still runs when none is named. */
  subcommands?: CommandSpec[];
  /** Returns what to print, or nothing when the handler streamed its own output. */
  handler(args: string[], options: OptionValues, ctx: CommandContext): Promise<ResultView | void>;
}

export interface GroupSpec {
  name: string;
  aliases?: string[];
  summary: string;
  commands: Array<CommandSpec | GroupSpec>;
}

export function isGroup(spec: CommandSpec | GroupSpec): spec is GroupSpec {
  return "commands" in spec;
}

/** Every runnable command under `specs` with its path (`["app", "create"]`), for tests and docs. */
export function commandPaths(specs: Array<CommandSpec | GroupSpec>, prefix: string[] = []): Array<{ path: string[]; spec: CommandSpec }> {
  return specs.flatMap((spec) => {
    const path = [...prefix, spec.name];
    if (isGroup(spec)) return commandPaths(spec.commands, path);
    return [{ path, spec }, ...commandPaths(spec.subcommands ?? [], path)];
  });
}

export function defineCommand(spec: CommandSpec): CommandSpec {
  return spec;
}

export function defineGroup(spec: GroupSpec): GroupSpec {
  return spec;
}

/** Typed readers for option values, so handlers never cast. */
export const opt = {
  string(options: OptionValues, key: string): string | undefined {
    const value = options[key];
    return typeof value === "string" ? value : undefined;
  },
  list(options: OptionValues, key: string): string[] {
    const value = options[key];
    return Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  },
  flag(options: OptionValues, key: string): boolean {
    return options[key] === true;
  },
};
