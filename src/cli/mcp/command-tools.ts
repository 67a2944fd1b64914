import { UsageError } from "../../errors.js";
import { commandPaths, type CommandSpec, type GroupSpec, type OptionSpec } from "../command-spec.js";

/**
 * The Ignite commands as MCP tools: one per leaf command, named by its path (`ignite_app_deploy`,
 * as the platform's samples name them), with a JSON Schema built from the same definitions that
 * --help and docs/cli-reference.md come from, so a new command becomes a tool with no extra code.
 * A call becomes the argv of that command (toArgv), which the CLI then parses and runs as usual.
 */

/**
 * Ignite commands with no tool, and why (docs/mcp.md lists them; a test keeps the two equal).
 * The `dodil` binary's own commands (login, logout, completion, mcp) are not Ignite commands and
 * have none either.
 */
export const MCP_EXCLUDED: Readonly<Record<string, string>> = {
  dev: "runs a local control plane in the foreground until stopped",
  "dev doctor": "checks this machine's container tooling for `dev`",
  "dev setup": "builds the local plane's base images",
  login: "saves credentials; the MCP server uses the CLI's configuration as it is",
  logout: "removes the saved credentials",
};

export interface JsonSchema {
  type?: string | string[];
  description?: string;
  enum?: readonly string[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean;
  default?: unknown;
  const?: unknown;
}

/** How one property of a tool's input becomes command-line words. */
type Param =
  | { property: string; kind: "arg"; index: number }
  | { property: string; kind: "value"; long: string; repeatable: boolean; valueType: OptionSpec["valueType"] }
  | { property: string; kind: "flag"; whenTrue: string | undefined; whenFalse: string | undefined }
  /** `yes` of a destructive command without its own --yes: checked here, never passed on. */
  | { property: string; kind: "confirm" };

export interface CommandTool {
  name: string;
  /** The command's words under `ignite`, e.g. ["app", "deploy"]. */
  path: string[];
  spec: CommandSpec;
  description: string;
  inputSchema: JsonSchema & { type: "object" };
  annotations: { title: string; destructiveHint: boolean; readOnlyHint?: boolean };
  params: Param[];
}

/** The org every tool accepts (the global --org); other global settings are the server's. */
const ORG_PROPERTY = "org";
const ORG_DESCRIPTION = "organization for a bare app name (default: the CLI's configured one)";

/** `app deploy` -> `ignite_app_deploy`; `draft compile-logs` -> `ignite_draft_compile_logs`. */
export function toolName(path: readonly string[]): string {
  return ["ignite", ...path].join("_").replace(/-/g, "_");
}

const propertyName = (text: string) => text.replace(/-/g, "_");

/** Every Ignite leaf command not excluded, as a tool. */
export function commandTools(commands: Array<CommandSpec | GroupSpec>): CommandTool[] {
  const tools = commandPaths(commands)
    .filter(({ path }) => MCP_EXCLUDED[path.join(" ")] === undefined)
    .map(({ path, spec }) => commandTool(path, spec));
  const seen = new Set<string>();
  for (const tool of tools) {
    if (seen.has(tool.name)) throw new Error(`two commands map to the MCP tool ${tool.name}`);
    seen.add(tool.name);
  }
  return tools;
}

export function commandTool(path: string[], spec: CommandSpec): CommandTool {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const params: Param[] = [];
  const add = (param: Param, schema: JsonSchema) => {
    if (properties[param.property]) throw new Error(`${path.join(" ")}: two inputs named ${param.property}`);
    properties[param.property] = schema;
    params.push(param);
  };

  (spec.args ?? []).forEach((arg, index) => {
    const property = propertyName(arg.name);
    add({ property, kind: "arg", index }, { type: "string", description: arg.description });
    if (arg.required !== false) required.push(property);
  });

  // A --x/--no-x pair is one boolean; a lone --no-x is the boolean x (true by default).
  const flags = new Map<string, { positive?: OptionSpec; negative?: OptionSpec }>();
  for (const option of spec.options ?? []) {
    if (option.mcp === false) continue;
    const long = /--([\w-]+)/.exec(option.flags)?.[1] ?? "";
    const takesValue = /[<[]/.test(option.flags);
    if (takesValue) {
      const schema: JsonSchema = valueSchema(option);
      add({ property: propertyName(long), kind: "value", long: `--${long}`, repeatable: option.repeatable === true, valueType: option.valueType }, schema);
      continue;
    }
    const negative = long.startsWith("no-");
    const key = negative ? long.slice(3) : long;
    const entry = flags.get(key) ?? {};
    if (negative) entry.negative = option;
    else entry.positive = option;
    flags.set(key, entry);
  }
  for (const [key, { positive, negative }] of flags) {
    const description =
      positive && negative ? `true: ${positive.description}; false: ${negative.description}` : positive ? positive.description : `false: ${negative?.description ?? ""}`;
    const schema: JsonSchema = { type: "boolean", description };
    if (!positive) schema.default = true;
    add({ property: propertyName(key), kind: "flag", whenTrue: positive ? `--${key}` : undefined, whenFalse: negative ? `--no-${key}` : undefined }, schema);
  }

  if (spec.destructive) {
    const confirm = "must be true: this cannot be undone";
    if (properties.yes) properties.yes = { ...properties.yes, description: `${confirm} (${properties.yes.description ?? ""})` };
    else add({ property: "yes", kind: "confirm" }, { type: "boolean", description: confirm });
    required.push("yes");
  }
  if (!properties[ORG_PROPERTY]) add({ property: ORG_PROPERTY, kind: "value", long: "--org", repeatable: false, valueType: undefined }, { type: "string", description: ORG_DESCRIPTION });

  return {
    name: toolName(path),
    path,
    spec,
    description: spec.description ?? spec.summary,
    inputSchema: { type: "object", properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false },
    annotations: { title: `dodil ignite ${path.join(" ")}`, destructiveHint: spec.destructive === true },
    params,
  };
}

function valueSchema(option: OptionSpec): JsonSchema {
  const scalar: JsonSchema =
    option.valueType === "integer"
      ? { type: "integer" }
      : option.valueType === "number"
        ? { type: "number" }
        : option.valueType === "json"
          ? {}
          : { type: "string", ...(option.choices ? { enum: option.choices } : {}) };
  if (option.repeatable) return { type: "array", items: scalar, description: option.description };
  return { ...scalar, description: option.valueType === "json" ? `${option.description}; any JSON value, or its text` : option.description };
}

/**
 * The command line of one tool call: ["app", "deploy", "--tier=small", "--", "greeter"] (options
 * as --name=value, so a value starting with "-" is never read as a flag; arguments after "--").
 * Input the schema does not allow is a UsageError naming the property; commander and the handler
 * check the values themselves, as on the command line.
 */
export function toArgv(tool: CommandTool, input: Record<string, unknown>, leading: readonly string[] = []): string[] {
  const known = new Map(tool.params.map((p) => [p.property, p]));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new UsageError(`${tool.name} has no input "${key}": use ${[...known.keys()].join(", ")}`);
  }
  if (tool.spec.destructive && input.yes !== true) {
    throw new UsageError(`${tool.name} cannot be undone: call it again with "yes": true to go ahead`);
  }
  for (const key of tool.inputSchema.required ?? []) {
    if (input[key] === undefined || input[key] === null) throw new UsageError(`${tool.name} needs "${key}"`);
  }
  const positionals: string[] = [];
  const options: string[] = [];
  for (const param of tool.params) {
    const value = input[param.property];
    if (value === undefined || value === null) continue;
    switch (param.kind) {
      case "arg":
        positionals[param.index] = scalarText(tool, param.property, value, undefined);
        break;
      case "value": {
        const values = Array.isArray(value) && param.repeatable ? value : [value];
        for (const item of values) options.push(`${param.long}=${scalarText(tool, param.property, item, param.valueType)}`);
        break;
      }
      case "flag": {
        if (typeof value !== "boolean") throw new UsageError(`${tool.name}: "${param.property}" must be true or false`);
        const word = value ? param.whenTrue : param.whenFalse;
        if (word) options.push(word);
        break;
      }
      case "confirm":
        // Checked below, with a --yes of the command's own.
        break;
    }
  }
  // Optional arguments before a given one keep their place (commander reads them in order).
  const args = Array.from(positionals, (p) => p ?? "");
  while (args.length > 0 && args[args.length - 1] === "") args.pop();
  // `leading` (the server's global flags) first: a tool's own `org` given later wins.
  return [...tool.path, ...leading, ...options, ...(args.length > 0 ? ["--", ...args] : [])];
}

function scalarText(tool: CommandTool, property: string, value: unknown, valueType: OptionSpec["valueType"]): string {
  if (valueType === "json") return typeof value === "string" ? value : JSON.stringify(value);
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean" && valueType === undefined) return String(value);
  throw new UsageError(`${tool.name}: "${property}" must be ${valueType === "integer" || valueType === "number" ? "a number" : "a string"}`);
}
