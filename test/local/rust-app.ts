import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cargoRegistryDir } from "../../src/local/managed-runtime/rust/rust-runtime.js";

/** Why the Rust managed runtime cannot be tested here, or "" (cargo and the packaged crates build it). */
export const rustMissing = (() => {
  try {
    execFileSync("cargo", ["--version"], { stdio: "ignore" });
  } catch {
    return "the Rust toolchain (cargo) is not installed; CI installs cargo";
  }
  if (!existsSync(cargoRegistryDir())) return `no crate directory at ${cargoRegistryDir()}; CI installs Debian's librust-*-dev crates`;
  return "";
})();

/** A dev-dependency on serde_json, which the library (using serde_json) still needs added; [dependencies] last, so tests can append to it. */
export const CARGO_TOML = '[package]\nname = "hello-rs"\nversion = "0.1.0"\nedition = "2021"\n\n[dev-dependencies]\nserde_json = "1"\n\n[dependencies]\n';

/**
 * A Rust app for the managed runtime: greets the name in its body, fails or panics on request,
 * reports the call's context and request, and awaits tokio (an async handler taking references;
 * examples/hello-rs takes its parameters by value).
 */
export const LIB_RS = `use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Input {
    name: String,
    #[serde(default)]
    fail: bool,
    #[serde(default)]
    panic: bool,
}

#[ignite::main]
async fn handler(req: &ignite::Request, ctx: &ignite::Context) -> Result<Value, ignite::Error> {
    let input: Input = req.body()?;
    println!("handling {}", input.name);
    if input.fail {
        return Err(ignite::Error::new("asked to fail"));
    }
    if input.panic {
        panic!("asked to panic");
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let first: String = req.field("name")?;
    Ok(json!({
        "hello": first,
        "execution_id": ctx.execution_id(),
        "function_id": ctx.function_id(),
        "method": req.method(),
        "path": req.path(),
        "who": req.query_param("who"),
        "header": req.header("X-Greeting"),
    }))
}
`;
