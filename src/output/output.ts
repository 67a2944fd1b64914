import type { ChalkInstance } from "chalk";
import type { OutputFormat } from "../config/config-keys.js";
import { CliError, EXIT_CODES, environmentalError } from "../errors.js";
import type { IoStreams } from "./io-streams.js";
import { renderResult, type ResultView } from "./render.js";
import { createTheme } from "./theme.js";

export interface Spinner {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

/** How results are styled: a chalk per stream (colour or none), and yaml's stringify when loaded. */
interface Styles {
  out: ChalkInstance;
  err: ChalkInstance;
  toYaml: ((value: unknown) => string) | undefined;
}

const SILENT_SPINNER: Spinner = { update() {}, succeed() {}, fail() {}, stop() {} };

/**
 * The only writer of anything the user sees. Results go to stdout and nothing else does; messages,
 * warnings, traces, spinners and errors go to stderr. Under json/yaml stdout holds only the result.
 */
export class Output {
  private readonly out: ChalkInstance;
  private readonly err: ChalkInstance;
  private readonly toYaml: ((value: unknown) => string) | undefined;

  private constructor(
    readonly io: IoStreams,
    readonly format: OutputFormat,
    private readonly debug: boolean,
    styles: Styles,
  ) {
    ({ out: this.out, err: this.err, toYaml: this.toYaml } = styles);
  }

  /** An Output for `format`; chalk and yaml are loaded only when colour or yaml output needs them. */
  static async create(io: IoStreams, format: OutputFormat, debug: boolean): Promise<Output> {
    const [out, err, toYaml] = await Promise.all([createTheme(io.stdoutColor), createTheme(io.stderrColor), format === "yaml" ? loadYamlStringify() : undefined]);
    return new Output(io, format, debug, { out, err, toYaml });
  }

  get isMachine(): boolean {
    return this.format === "json" || this.format === "yaml";
  }

  result(view: ResultView): void {
    this.io.stdout.write(renderResult(view, this.format, this.out, this.toYaml));
    if (this.isMachine) this.io.humanResult?.write(renderResult(view, "table", this.out));
  }

  /** One JSON document per line, for streaming commands under -o json/yaml. */
  jsonLine(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value) + "\n");
  }

  /** Bytes exactly as received (an app's response body). */
  raw(chunk: Uint8Array | string): void {
    this.io.stdout.write(chunk);
  }

  /** A streamed human line on stdout (log lines). */
  line(text: string): void {
    this.io.stdout.write(text.endsWith("\n") ? text : text + "\n");
  }

  info(message: string): void {
    this.io.stderr.write(message + "\n");
  }

  success(message: string): void {
    this.io.stderr.write(`${this.err.green("✓")} ${message}\n`);
  }

  warn(message: string): void {
    this.io.stderr.write(`${this.err.yellow("Warning:")} ${message}\n`);
  }

  trace(message: string): void {
    if (this.debug) this.io.stderr.write(this.err.dim(`[debug] ${message}`) + "\n");
  }

  /** Progress listener of an in-process run (the MCP server), if any. */
  get progressListener(): ((message: string) => void) | undefined {
    return this.io.progress;
  }

  /** An ora spinner on stderr when stderr is a terminal and the format is human; otherwise silent. */
  async spinner(text: string): Promise<Spinner> {
    const progress = this.io.progress;
    if (progress) {
      progress(text);
      return { update: progress, succeed: progress, fail: progress, stop() {} };
    }
    if (!this.io.stderrIsTTY || this.isMachine) return SILENT_SPINNER;
    const { default: ora } = await import("ora");
    // isEnabled: the TTY decision was made once, in IoStreams; ora must not re-guess it from the stream.
    const spinner = ora({ text, stream: this.io.stderr as NodeJS.WritableStream, color: "cyan", isEnabled: true }).start();
    return {
      update: (t) => void (spinner.text = t),
      succeed: (t) => void spinner.succeed(t),
      fail: (t) => void spinner.fail(t),
      stop: () => void spinner.stop(),
    };
  }

  /**
   * Prints a failure: one line (plus a hint) or, under json/yaml, one JSON object; returns the exit
   * code. An unexpected error (a bug, not a CliError) also shows its stack with --debug.
   */
  error(error: unknown): number {
    const cliError = error instanceof CliError ? error : environmentalError(error);
    const code = cliError?.code ?? "UNKNOWN";
    const exitCode = cliError?.exitCode ?? EXIT_CODES.FAILURE;
    const message = cliError?.message ?? (error instanceof Error ? error.message : String(error));
    const stack = this.debug && !cliError && error instanceof Error ? error.stack : undefined;
    if (this.isMachine) {
      const body: Record<string, unknown> = { code, message, exit_code: exitCode };
      if (cliError?.hint) body.hint = cliError.hint;
      if (stack) body.stack = stack;
      this.io.stderr.write(JSON.stringify(body) + "\n");
    } else {
      this.io.stderr.write(`${this.err.red("Error:")} ${message}\n`);
      if (cliError?.hint) this.io.stderr.write(`${this.err.dim("hint:")} ${cliError.hint}\n`);
      if (stack) this.io.stderr.write(this.err.dim(stack) + "\n");
    }
    return exitCode;
  }
}

async function loadYamlStringify(): Promise<(value: unknown) => string> {
  const loaded = await import("yaml");
  // In the bundled CLI, yaml is CommonJS and its API may sit under `default` only.
  return ("stringify" in loaded ? loaded : (loaded as { default: typeof loaded }).default).stringify;
}
