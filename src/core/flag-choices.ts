/**
 * The names some flags accept (--tier, --storage-mode, --auto-mode, --type, --response-format).
 * Kept apart from the modules that map them to protobuf enums, so the command definitions can list
 * them (MCP tool enums) without loading the generated descriptors at start-up.
 */
export const TIER_NAMES = ["small", "medium", "large", "xlarge"] as const;
export const STORAGE_MODE_NAMES = ["persistent", "ephemeral", "ttl"] as const;
export const AUTO_MODE_NAMES = ["disabled", "enabled", "tier-only", "scale-only"] as const;

/** The managed runtimes of --runtime, and the targets of --rust-target. */
export const RUNTIMES = ["python", "rust", "go", "deno"] as const;
export type RuntimeName = (typeof RUNTIMES)[number];
export const RUST_TARGETS = ["native", "wasm"] as const;
/** --rust-target and --toolchain, which go with --runtime rust (flags, or info.yaml's runtime block). */
export interface RustOptions {
  target: (typeof RUST_TARGETS)[number];
  toolchain: string;
}

export const SECRET_TYPES = ["git", "registry"] as const;
/** The response formats of the OpenAI transcription API, which the platform follows. */
export const TRANSCRIPT_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"] as const;
