import type { Command } from "commander";

/**
 * Every command's help text, as a tree the bin shims walk with the typed words
 * (`dodil ignite app list --help`), so help prints without loading the CLI. Built from the
 * command definitions at build time (scripts/bundle.mjs); a test checks it equals commander's
 * own output for every command. The walk itself is in bin/launch.js (CommonJS, no build step).
 */
export interface HelpNode {
  /** The help text. */
  h: string;
  /** Subcommands by name. */
  c?: Record<string, HelpNode>;
  /** Alias -> name. */
  a?: Record<string, string>;
}

/** `render` returns what `--help` prints for a command (usage, options and the texts added after). */
export function buildHelpIndex(command: Command, render: (command: Command) => string): HelpNode {
  const node: HelpNode = { h: render(command) };
  for (const sub of command.commands) {
    (node.c ??= {})[sub.name()] = buildHelpIndex(sub, render);
    for (const alias of sub.aliases()) (node.a ??= {})[alias] = sub.name();
  }
  return node;
}
