//! The Rust managed runtime's hello world:
//!   dodil ignite app deploy hello-rs --code examples/hello-rs --runtime rust --rust-target native
//!   dodil ignite invoke hello-rs -p '{"name": "ferris"}'
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct Greeting {
    name: String,
}

#[ignite::main]
fn handler(req: ignite::Request, ctx: ignite::Context) -> Result<Value, ignite::Error> {
    let input: Greeting = req.body()?;
    Ok(json!({
        "greeting": format!("Hello, {}!", input.name),
        "execution_id": ctx.execution_id(),
    }))
}
