/**
 * The Python managed runtime's bootstrap server (stdlib only; python/bootstrap/bootstrap.py), copied
 * into every compiled Python artifact as .ignite/bootstrap.py. It owns the HTTP server, the port and the readiness probe, and
 * calls the user's `handler(payload, ctx)` from handler.py (reference §6.3):
 *
 *   POST <any path>  -> handler(raw body bytes, {execution_id, function_id, organization_id})
 *                       (the three values come from the x-ignite-* headers the gateway injects)
 *                       bytes are returned as is, str as UTF-8, anything else through json.dumps;
 *                       an exception -> HTTP 500 {"error", "type", "traceback"}
 *   GET /healthz, GET /  -> 200 {"status": "ok"}
 *
 * Dependencies installed from requirements.txt at compile time live in .ignite/deps.
 */
import type { RuntimeSources } from "../runtime-sources.js";

/** The bootstrap; the compile copies it into its .ignite directory. */
export const PYTHON_BOOTSTRAP: RuntimeSources = { dir: new URL("./bootstrap/", import.meta.url), files: ["bootstrap.py"] };
