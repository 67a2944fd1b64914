import type { Command, Option } from "commander";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

/** Values offered after flags that take one of a fixed set. */
const OPTION_VALUES: Record<string, string[]> = {
  "--output": ["table", "wide", "json", "yaml"],
  "--tier": ["small", "medium", "large", "xlarge"],
  "--runtime": ["python", "rust", "go", "deno"],
  "--rust-target": ["native", "wasm"],
  "--driver": ["auto", "host", "podman", "docker"],
};

export interface CompletionRequest {
  /** Words typed after the program name, before the word being completed. */
  words: string[];
  /** The word being completed (may be empty). */
  current: string;
}

/** What to complete next, read off the commander tree so new commands and flags are covered at once. */
export type CompletionTarget = { kind: "words"; candidates: string[] } | { kind: "app-id"; prefix: string };

export function completionTarget(root: Command, request: CompletionRequest): CompletionTarget {
  let command = root;
  let positional = 0;
  let expectValueFor: Option | undefined;
  for (const word of request.words) {
    if (expectValueFor) {
      expectValueFor = undefined;
      continue;
    }
    if (word.startsWith("-")) {
      const option = findOption(command, word);
      if (option && (option.required || option.optional) && !word.includes("=")) expectValueFor = option;
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) command = sub;
    else positional += 1;
  }
  const matching = (values: string[]) => values.filter((v) => v.startsWith(request.current)).sort();
  if (expectValueFor) return { kind: "words", candidates: matching(OPTION_VALUES[expectValueFor.long ?? ""] ?? []) };
  if (request.current.startsWith("-")) {
    return { kind: "words", candidates: matching(command.options.filter((o) => !o.hidden && o.long).map((o) => o.long as string).concat("--help")) };
  }
  const subcommands = command.commands.filter((c) => !c.name().startsWith("_"));
  if (subcommands.length > 0) return { kind: "words", candidates: matching(subcommands.map((c) => c.name())) };
  const args = command.registeredArguments;
  if (positional === 0 && args[0]?.name() === "id") return { kind: "app-id", prefix: request.current };
  return { kind: "words", candidates: [] };
}

function findOption(command: Command, word: string): Option | undefined {
  const flag = word.split("=")[0];
  return command.options.find((o) => o.long === flag || o.short === flag);
}

export function completionScript(shell: Shell, program: string): string {
  const fn = `_${program.replace(/\W/g, "_")}_complete`;
  switch (shell) {
    case "bash":
      return `# ${program} completion for bash. Load it with:  source <(${program} completion bash)
${fn}() {
  local line=\${COMP_LINE:0:COMP_POINT} current=""
  local -a words
  IFS=' ' read -ra words <<< "$line"
  # Complete the whole word under the cursor, even where bash splits it at ':' (org:app).
  if [[ $line != *" " ]]; then current=\${words[-1]}; unset 'words[-1]'; fi
  local IFS=$'\\n'
  COMPREPLY=($(${program} __complete -- "\${words[@]:1}" "$current" 2>/dev/null))
  if [[ $current == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix=\${current%"\${current##*:}"}
    COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  fi
}
complete -o default -F ${fn} ${program}
`;
    case "zsh":
      return `#compdef ${program}
# ${program} completion for zsh. Load it with:  source <(${program} completion zsh)
${fn}() {
  local -a candidates
  candidates=("\${(@f)$(${program} __complete -- "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null)}")
  compadd -- \${candidates:#}
}
compdef ${fn} ${program}
`;
    case "fish":
      return `# ${program} completion for fish. Load it with:  ${program} completion fish | source
complete -c ${program} -f -a '(${program} __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`;
  }
}
