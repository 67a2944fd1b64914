/**
 * The Rust managed runtime's SDK, the crate `ignite` that a Rust app's `#[ignite::main]` handler
 * is built against (reference §5.2: `Cargo.toml` at the root, `src/lib.rs` with `#[ignite::main]`;
 * §6.3: `Request` and `Context` methods, the return value serialised to JSON with HTTP 200, an Err
 * or a panic giving 500 `{error}`). The crates are the files under rust/sdk (ignite and ignite-macros);
 * the compile step copies both under .ignite/sdk and
 * builds a small runner crate whose `main` calls the entry point the attribute generates. The
 * server behaves as the Python bootstrap's and the Go SDK's:
 *
 *   POST <any path>  -> handler(Request, Context) (context from the x-ignite-* headers); Ok(value)
 *                       -> 200 application/json; Err(e) or a panic -> 500 {"error", "type"}
 *   GET /healthz, GET /  -> 200 {"status": "ok"}
 *
 * Only the standard library, serde, serde_json and tokio are used (the crates Debian packages and
 * the compile step resolves offline); the attribute macro is written against `proc_macro` alone.
 * Not provided locally: `Context::temp_store()` and `Context::stream()`, whose platform semantics
 * the docs do not show.
 */
import type { RuntimeSources } from "../runtime-sources.js";

/** The SDK's files; the compile copies them under its .ignite/sdk. */
export const RUST_SDK: RuntimeSources = {
  dir: new URL("./sdk/", import.meta.url),
  files: ["ignite/Cargo.toml", "ignite/src/lib.rs", "ignite-macros/Cargo.toml", "ignite-macros/src/lib.rs"],
};
