/**
 * The Go managed runtime's SDK, the package `ignite` that a Go app's `import "ignite"` resolves to
 * (reference §5.2: "import "ignite" is rewritten to the bundled SDK"; §6.2 handler
 * `func(payload []byte, ctx *ignite.Context) ([]byte, error)`), the files under go/sdk/ignite. The
 * compile step copies it under
 * .ignite/sdk/ignite and points the app's go.mod at it. Its server behaves as the Python
 * bootstrap's (python/bootstrap/bootstrap.py):
 *
 *   POST <any path>  -> handler(raw body, &Context{ExecutionID, FunctionID, OrganizationID, Headers})
 *                       (from the x-ignite-* headers); the bytes are the response, application/json
 *                       when they are valid JSON; an error or a panic -> HTTP 500 {"error", "type"}
 *   GET /healthz, GET /  -> 200 {"status": "ok"}
 */
import type { RuntimeSources } from "../runtime-sources.js";

/** The package's files; the compile copies them under its .ignite/sdk. */
export const GO_SDK: RuntimeSources = { dir: new URL("./sdk/", import.meta.url), files: ["ignite/ignite.go", "ignite/go.mod"] };
