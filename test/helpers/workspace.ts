import { cpSync } from "node:fs";
import { join } from "node:path";
import { startTestControlPlane, type TestControlPlane } from "./control-plane.js";
import { runCli, type CliResult, type RunCliOptions } from "./run-cli.js";
import { removeDir, tempDir } from "./temp-dirs.js";

/** A local control plane plus a work directory holding the recipe's greeter in `app/`. */
export interface Workspace {
  cp: TestControlPlane;
  work: string;
  /** `dodil ignite <argv>` in the work directory, as org acme-corp; `env` adds to the plane's. */
  cli(argv: string[], env?: Record<string, string>, extra?: Pick<RunCliOptions, "stdin" | "stdinIsTTY" | "home" | "onStdout" | "clock">): Promise<CliResult>;
  close(): Promise<void>;
}

export async function startWorkspace(prefix: string): Promise<Workspace> {
  const cp = await startTestControlPlane();
  const work = tempDir(prefix);
  cpSync(join(import.meta.dirname, "..", "..", "examples", "greeter"), join(work, "app"), { recursive: true });
  return {
    cp,
    work,
    cli: (argv, env = {}, extra = {}) => runCli(["ignite", ...argv], { env: { ...cp.env, ...env }, cwd: work, ...extra }),
    async close() {
      await cp.stop();
      removeDir(cp.dataDir);
      removeDir(work);
    },
  };
}

/** stderr without the `[debug]` request traces that plaintext (--debug) mode adds. */
export const withoutTraces = (stderr: string): string[] => stderr.split("\n").filter((l) => l !== "" && !l.startsWith("[debug]"));
