import type { IgniteApi } from "../api/ignite-api.js";
import type { Clock } from "../clock.js";
import type { ConfigStore } from "../config/config-store.js";
import type { Env } from "../config/env.js";
import type { GlobalFlags, Settings } from "../config/settings.js";
import type { IoStreams } from "../output/io-streams.js";
import type { Output } from "../output/output.js";

/** What the process gives a CLI run; tests build their own. */
export interface RunEnvironment {
  io: IoStreams;
  env: Env;
  cwd: string;
  home: string;
  /** Resolves when the user asks a foreground command (`dev`) to stop: SIGINT or SIGTERM. */
  waitForShutdown: () => Promise<string>;
  /** The time a follow's explicit --timeout runs on (src/clock.ts); tests move it by hand. */
  clock: Clock;
}

/**
 * Everything a handler may use. Expensive things (config file, gRPC channel) are built on first
 * use, so `--help`, usage errors and `config` commands never open a channel.
 */
export interface CommandContext extends RunEnvironment {
  flags: GlobalFlags;
  output: Output;
  settings(): Settings;
  configStore(): ConfigStore;
  api(): Promise<IgniteApi>;
  readStdin(): Promise<Buffer>;
  /** Asks on a terminal; never prompts when stdin is not a TTY (returns false). */
  confirm(question: string): Promise<boolean>;
  /** Closes what the run opened (the gRPC channel). */
  dispose(): Promise<void>;
}
