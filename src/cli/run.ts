import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import type { IgniteApi } from "../api/ignite-api.js";
import { parseOutputFormat, type OutputFormat } from "../config/config-keys.js";
import { ConfigStore } from "../config/config-store.js";
import { locateConfigFile } from "../config/paths.js";
import { resolveSettings, type Settings } from "../config/settings.js";
import { EXIT_CODES, UsageError } from "../errors.js";
import { decideColor } from "../output/io-streams.js";
import type { Output } from "../output/output.js";
import type { CommandContext, RunEnvironment } from "./command-context.js";
import { isGroup, type CommandSpec, type GroupSpec, type OptionSpec, type OptionValues } from "./command-spec.js";
import { completionCommand } from "./commands/completion.js";
import { dodilLoginCommand } from "./commands/dodil-login.js";
import { dodilLogoutCommand } from "./commands/dodil-logout.js";
import { igniteCommands } from "./commands/index.js";
import { mcpCommand } from "./commands/mcp.js";
import { completionTarget } from "./completion.js";
import { collectGlobalFlags, globalOptions } from "./global-options.js";
import { confirmOnTerminal, readAll } from "./terminal.js";

export type BinaryName = "dodil" | "ignite";

/** What a run learns while commander parses: the Output of the command that ran, for its errors. */
interface RunState {
  output?: Output;
}

/** Every help text is wrapped at this width, whatever the terminal. */
export const HELP_WIDTH = 80;

const EXIT_CODE_HELP = `
Exit codes:
  0 success                 5 not found
  1 other failure           6 already exists
  2 invalid argument/usage  7 resource exhausted
  3 unauthenticated         8 deadline exceeded
  4 permission denied       9 unavailable (endpoint unreachable)
                           10 internal error`;

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/**
 * Runs one CLI invocation and returns its exit code. Nothing here exits the process or reads
 * process.*: bin/ passes the real environment, tests pass their own.
 */
export async function run(argv: readonly string[], environment: RunEnvironment, binary: BinaryName = "dodil"): Promise<number> {
  const state: RunState = {};
  const program = buildProgram(binary, environment, state, selectRoute(binary, argv));
  argv = nestedHelp(program, argv);
  if (argv[0] === "__complete") return completeForShell(program, argv.slice(argv[1] === "--" ? 2 : 1), environment);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_CODES.OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (["commander.helpDisplayed", "commander.version", "commander.help"].includes(error.code)) return EXIT_CODES.OK;
      const output = state.output ?? (await fallbackOutput(environment, argv));
      const message = error.message.replace(/^error: /, "").replace(/\n+/g, " ");
      return output.error(new UsageError(message, { hint: `see \`${binary === "dodil" ? "dodil ignite" : "ignite"} --help\`` }));
    }
    return (state.output ?? (await fallbackOutput(environment, argv))).error(error);
  }
}

/** The `ignite` group of the `dodil` binary, as a node of the tree selectRoute walks. */
const IGNITE_GROUP: GroupSpec = { name: "ignite", summary: "deploy and run apps on Ignite", commands: igniteCommands };
const IGNITE_DESCRIPTION = "Deploy, publish and invoke apps on the Ignite compute platform.";

/** The commands a command line selects; undefined means the whole tree. */
type Route = ReadonlySet<CommandSpec | GroupSpec> | undefined;

/** The top-level commands of each binary, in help order (one list per binary, so specs compare by identity). */
const topLevelCommands = new Map<BinaryName, Array<CommandSpec | GroupSpec>>();
function topLevel(binary: BinaryName): Array<CommandSpec | GroupSpec> {
  let commands = topLevelCommands.get(binary);
  if (!commands) {
    const completion = completionCommand(binary);
    // The MCP server runs each tool call through run() itself, in this process.
    const mcp = mcpCommand(binary, { run, commands: igniteCommands, version: packageVersion });
    commands = binary === "dodil" ? [IGNITE_GROUP, dodilLoginCommand, dodilLogoutCommand, completion, mcp] : [...igniteCommands, completion, mcp];
    topLevelCommands.set(binary, commands);
  }
  return commands;
}

/**
 * The commands a command line selects (`ignite app list` -> ignite, app, list), so a run builds
 * only that branch of the tree: every command carries copies of the global options, and building
 * all of them is most of the CLI's start-up cost. Undefined (build everything) when the line asks
 * for help or completion, whose output lists siblings. The last node selected is built in full, so
 * a misspelt subcommand still gets commander's "Did you mean …?".
 */
export function selectRoute(binary: BinaryName, argv: readonly string[]): Route {
  if (argv[0] === "__complete" || argv.some((word) => word === "help" || word === "--help" || word === "-h")) return undefined;
  const takesValue = new Set(globalOptions().flatMap((o) => (o.required || o.optional ? [o.long, o.short] : [])));
  const route = new Set<CommandSpec | GroupSpec>();
  let children: Array<CommandSpec | GroupSpec> = topLevel(binary);
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i] as string;
    if (word === "--") break;
    if (word.startsWith("-")) {
      if (takesValue.has(word)) i += 1;
      continue;
    }
    const next = children.find((c) => c.name === word || c.aliases?.includes(word));
    if (!next) break;
    route.add(next);
    if (!isGroup(next)) break;
    children = next.commands;
  }
  return route;
}

/** The specs to build among `children`: the one on the route, or all of them off it. */
function onRoute<T extends CommandSpec | GroupSpec>(children: T[], route: Route): T[] {
  const chosen = route && children.find((c) => route.has(c));
  return chosen ? [chosen] : children;
}

/** What every command of one program is built with: where it runs, its shared state, the route to build. */
interface ProgramParts {
  environment: RunEnvironment;
  state: RunState;
  route: Route;
}

export function buildProgram(binary: BinaryName, environment: RunEnvironment, state: RunState = {}, route?: Route): Command {
  const parts: ProgramParts = { environment, state, route };
  const root = new Command(binary);
  configure(root, environment);
  root.version(packageVersion(), "-v, --version", "print the CLI version");
  if (binary === "dodil") {
    root.summary("the dodil command-line client").description("The dodil command-line client. Ignite commands live under `dodil ignite`.");
    for (const spec of onRoute(topLevel(binary), route)) {
      if (spec === IGNITE_GROUP) populate(root.command("ignite").summary(IGNITE_GROUP.summary).description(IGNITE_DESCRIPTION), spec.commands, parts);
      else root.addCommand(buildCommand(spec, parts));
    }
  } else {
    root.summary(IGNITE_GROUP.summary).description(IGNITE_DESCRIPTION);
    populate(root, topLevel(binary), parts);
  }
  return root;
}

/** The Ignite commands `specs` under `parent`, with the global options shown there and accepted everywhere below. */
function populate(parent: Command, specs: Array<CommandSpec | GroupSpec>, parts: ProgramParts): void {
  for (const option of globalOptions()) parent.addOption(option);
  parent.addHelpText("after", EXIT_CODE_HELP);
  for (const spec of onRoute(specs, parts.route)) parent.addCommand(buildCommand(spec, parts));
}

function configure(command: Command, environment: RunEnvironment): void {
  command
    // Each command parses only the options typed before its subcommand; every command below carries
    // (hidden) copies of the global flags, so they still work after the subcommand, and a command
    // may give a global flag its own meaning (`dev --token ORG=TOKEN`).
    .enablePositionalOptions()
    .exitOverride()
    .showSuggestionAfterError(true)
    // Commands keep their registry order (sorting with localeCompare would also cost ~15 ms of ICU
    // start-up); help is wrapped at 80 columns everywhere, so bin/ can serve it prebuilt (help-index.ts).
    .configureHelp({ sortSubcommands: false, helpWidth: HELP_WIDTH })
    .configureOutput({
      writeOut: (text) => void environment.io.stdout.write(text),
      writeErr: (text) => void environment.io.stderr.write(text),
      // Errors are printed once, by run(), in the CLI's own format.
      outputError: () => {},
    });
}

function buildCommand(spec: CommandSpec | GroupSpec, parts: ProgramParts): Command {
  const { environment, state, route } = parts;
  const command = new Command(spec.name);
  configure(command, environment);
  command.summary(spec.summary);
  if (spec.aliases) command.aliases(spec.aliases);
  if (isGroup(spec)) {
    addGlobalOptions(command, []);
    for (const child of onRoute(spec.commands, route)) command.addCommand(buildCommand(child, parts));
    // A bare group prints its help on stdout and succeeds; a misspelt subcommand still gets
    // commander's own "unknown command … Did you mean …?" (unknownCommand is untyped in commander 14).
    command.allowExcessArguments(true).action(() => {
      if (command.args.length > 0) (command as unknown as { unknownCommand(): never }).unknownCommand();
      command.outputHelp();
    });
    return command;
  }
  command.description(spec.description ?? spec.summary);
  for (const arg of spec.args ?? []) command.argument(arg.required === false ? `[${arg.name}]` : `<${arg.name}>`, arg.description);
  for (const option of spec.options ?? []) {
    if (option.repeatable) command.option(option.flags, option.description, (value: string, previous: string[] = []) => [...previous, value]);
    else if (option.defaultValue !== undefined) command.option(option.flags, option.description, option.defaultValue);
    else command.option(option.flags, option.description);
  }
  addGlobalOptions(command, spec.options ?? []);
  for (const sub of spec.subcommands ?? []) command.addCommand(buildCommand(sub, { ...parts, route: undefined }));
  if (spec.examples.length > 0) command.addHelpText("after", `\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join("\n")}`);
  command.action(async (...actionArgs: unknown[]) => {
    const args = actionArgs.slice(0, (spec.args ?? []).length).map((a) => (typeof a === "string" ? a : ""));
    const context = await createContext(command, environment);
    state.output = context.output;
    try {
      const view = await spec.handler(args, command.opts() as OptionValues, context);
      if (view) context.output.result(view);
    } finally {
      await context.dispose();
    }
  });
  return command;
}

/** The global flags, after the command's own; a command may give one its own meaning (`dev --token ORG=TOKEN`). */
function addGlobalOptions(command: Command, own: OptionSpec[]): void {
  const ownFlags = new Set(own.map((o) => /--[\w-]+/.exec(o.flags)?.[0]));
  for (const option of globalOptions()) if (!ownFlags.has(option.long)) command.addOption(option);
}

/**
 * Builds the context of one command run. Config and settings problems are recorded, not thrown,
 * so commands that need neither (dev) still run, and the error surfaces where a value is needed.
 */
async function createContext(command: Command, environment: RunEnvironment): Promise<CommandContext> {
  const flags = collectGlobalFlags(command);
  const { io, env } = environment;
  io.stdoutColor = decideColor({ isTTY: io.stdoutIsTTY, env, noColorFlag: !flags.color });
  io.stderrColor = decideColor({ isTTY: io.stderrIsTTY, env, noColorFlag: !flags.color });

  let store: ConfigStore | undefined;
  let settings: Settings | undefined;
  let settingsError: unknown;
  try {
    store = await ConfigStore.open(locateConfigFile({ configFlag: flags.config, env, home: environment.home, cwd: environment.cwd }));
    settings = resolveSettings({ flags, env, store });
  } catch (error) {
    settingsError = error;
  }
  const format = settings?.output.value ?? safeFormat(flags.output) ?? safeFormat(env.IGNITE_OUTPUT) ?? "table";
  // Loaded here, not at start-up: --help and --version never need chalk or yaml.
  const { Output } = await import("../output/output.js");
  const output = await Output.create(io, format, settings?.debug.value ?? flags.debug === true);

  let api: Promise<IgniteApi> | undefined;
  const context: CommandContext = {
    ...environment,
    flags,
    output,
    configStore() {
      if (!store) throw settingsError;
      return store;
    },
    settings() {
      if (!settings) throw settingsError;
      return settings;
    },
    api() {
      api ??= (async () => {
        const resolved = context.settings();
        // Loaded on first use: --help, usage errors and config commands never pay for gRPC.
        const [{ GrpcIgniteApi }, { bearerToken, readCaCert }] = await Promise.all([import("../api/grpc-ignite-api.js"), import("./auth-session.js")]);
        const plaintext = resolved.debug.value;
        // The CA also verifies the token endpoint, which keeps its own scheme under debug.
        const caCert = readCaCert(resolved.caCert, environment.cwd);
        // Never a silent downgrade: plaintext only through debug, and said on every run.
        if (plaintext) output.trace(`plaintext connection to ${resolved.apiEndpoint.value}: TLS is off (debug mode, from ${resolved.debug.source})`);
        const trace = (line: string) => output.trace(line);
        const token = await bearerToken({ settings: resolved, store: context.configStore(), caCert, trace });
        return new GrpcIgniteApi({
          endpoint: resolved.apiEndpoint.value,
          token,
          plaintext,
          timeoutMs: resolved.timeoutMs,
          trace: resolved.debug.value ? trace : undefined,
          ...(caCert && !plaintext ? { caCert } : {}),
        });
      })();
      return api;
    },
    async dispose() {
      if (api) (await api.catch(() => undefined))?.close();
    },
    readStdin: () => readAll(io.stdin),
    confirm: (question) => confirmOnTerminal(io, question),
  };
  return context;
}

/**
 * The shell's completion callback: prints one candidate per line. App ids come from the configured
 * endpoint within 1.5 s; any failure there just means no candidates, never an error.
 */
async function completeForShell(program: Command, args: readonly string[], environment: RunEnvironment): Promise<number> {
  const words = args.slice(0, -1);
  const target = completionTarget(program, { words, current: args[args.length - 1] ?? "" });
  let candidates = target.kind === "words" ? target.candidates : [];
  if (target.kind === "app-id") {
    try {
      const store = await ConfigStore.open(locateConfigFile({ env: environment.env, home: environment.home, cwd: environment.cwd }));
      const settings = resolveSettings({ flags: {}, env: environment.env, store });
      const { GrpcIgniteApi } = await import("../api/grpc-ignite-api.js");
      const { listApps } = await import("../core/apps.js");
      const { readCaCert } = await import("./auth-session.js");
      const caCert = settings.debug.value ? undefined : readCaCert(settings.caCert, environment.cwd);
      const api = new GrpcIgniteApi({ endpoint: settings.apiEndpoint.value, token: settings.token.value, plaintext: settings.debug.value, timeoutMs: 1500, ...(caCert ? { caCert } : {}) });
      try {
        const apps = await listApps(api, settings.org.value);
        candidates = apps.map((a) => a.id.replace("/", ":")).filter((id) => id.startsWith(target.prefix));
      } finally {
        api.close();
      }
    } catch {
      candidates = [];
    }
  }
  if (candidates.length > 0) environment.io.stdout.write(candidates.join("\n") + "\n");
  return EXIT_CODES.OK;
}

/**
 * `help` at any level, for any depth: `dodil ignite help draft save` becomes
 * `dodil ignite draft save --help` (commander's own help command looks one level down only).
 */
function nestedHelp(program: Command, argv: readonly string[]): readonly string[] {
  let command = program;
  for (let i = 0; i < argv.length; i += 1) {
    const word = argv[i] as string;
    if (word.startsWith("-")) {
      // Skip an option's value, so `--org help` is not read as the help command.
      const option = command.options.find((o) => o.long === word || o.short === word);
      if (option && (option.required || option.optional)) i += 1;
      continue;
    }
    if (word === "help" && command.commands.length > 0) return [...argv.slice(0, i), ...argv.slice(i + 1), "--help"];
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) return argv;
    command = sub;
  }
  return argv;
}

function safeFormat(text: string | undefined): OutputFormat | undefined {
  if (text === undefined) return undefined;
  try {
    return parseOutputFormat(text);
  } catch {
    return undefined;
  }
}

async function fallbackOutput(environment: RunEnvironment, argv: readonly string[]): Promise<Output> {
  const index = argv.findIndex((a) => a === "-o" || a === "--output");
  const inline = argv.find((a) => a.startsWith("--output=") || a.startsWith("-o="))?.split("=")[1];
  const format = safeFormat(index >= 0 ? argv[index + 1] : inline) ?? "table";
  const { Output } = await import("../output/output.js");
  return Output.create(environment.io, format, argv.includes("--debug"));
}
