/**
 * The managed runtime a draft's code goes to, and the `-d/--dependency` names `draft save` sends
 * with it (SaveDraftRequest.dependencies; the python runtime installs them with requirements.txt).
 */
import { basename } from "node:path";
import { UsageError } from "../errors.js";
import { requirementProblem } from "../wire/requirement-spec.js";
import type { DraftSource, RuntimeName } from "./draft-source.js";

/** The runtime of a single source file, by extension (a file without --runtime goes to the compile path). */
export function runtimeOfFile(path: string): RuntimeName {
  const match: Array<[RegExp, RuntimeName]> = [
    [/\.py$/, "python"],
    [/\.go$/, "go"],
    [/\.rs$/, "rust"],
    [/\.(ts|js)$/, "deno"],
  ];
  const found = match.find(([pattern]) => pattern.test(path));
  if (!found) throw new UsageError(`cannot tell the runtime of ${basename(path)}: pass --runtime python|go|rust|deno`);
  return found[1];
}

/** The managed runtime a source goes to; undefined for an image build or a prebuilt image. */
export function sourceRuntime(source: DraftSource): RuntimeName | undefined {
  if (source.kind === "image" || source.kind === "git") return undefined;
  return source.runtime ?? (source.kind === "file" ? runtimeOfFile(source.path) : undefined);
}

export function checkDependencyName(name: string): void {
  const problem = requirementProblem(name);
  if (problem) throw new UsageError(`invalid --dependency '${name.slice(0, 80)}': ${problem}`);
}
