// Org B's app: what its build script (build.rs) did is the point; the handler only answers.
use serde_json::{json, Value};

#[ignite::main]
async fn handler(_req: &ignite::Request, _ctx: &ignite::Context) -> Result<Value, ignite::Error> {
    Ok(json!({ "ok": true }))
}
