#!/usr/bin/env node
// How fast can `app list -o json` start at all on this stack? Measures, against `node -e 0` in the
// same run, programs that do nothing but the call: one ListApps over loopback with the generated
// protobuf-es code, printed as proto JSON — no commander, config, output or error handling. Each
// is bundled with esbuild and loaded the way bin/ loads the CLI (bin/compile-cache.js, warm code
// cache). The CLI's own figure is printed last. Usage: npm run build && node bench/startup-floor.mjs [runs]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { REPO, interleavedMedians, startBenchPlane } from "./lib/common.mjs";

const runs = Number(process.argv[2] ?? 15);

const dodil = join(REPO, "bin", "dodil.js");
const work = mkdtempSync(join(tmpdir(), "ignite-floor-"));
const token = "bench-token-0123456789";
const plane = await startBenchPlane({ work, org: "bench", token });
const { ready, env } = plane;
spawnSync(process.execPath, [dodil, "ignite", "app", "create", "bench:one"], { env });

const header = `
import { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import { ListAppsRequestSchema, ListAppsResponseSchema } from "./src/gen/dodil/ignite/v1/compute_pb.js";
const endpoint = ${JSON.stringify(ready.grpc_endpoint)};
const print = (response) => process.stdout.write(JSON.stringify(toJson(ListAppsResponseSchema, response, { useProtoFieldName: true }), null, 2) + "\\n");
`;
const programs = {
  // No network at all: the generated descriptors that every ComputeService call needs, booted.
  descriptors: `${header}
process.stdout.write(toBinary(ListAppsRequestSchema, create(ListAppsRequestSchema, { organizationName: "bench" })).length + " bytes\\n");
`,
  // The gRPC wire format by hand on node:http2: the least any gRPC client can do.
  "raw-http2": `${header}
import { connect } from "node:http2";
const body = toBinary(ListAppsRequestSchema, create(ListAppsRequestSchema, { organizationName: "bench" }));
const frame = Buffer.alloc(5 + body.length);
frame.writeUInt32BE(body.length, 1);
frame.set(body, 5);
const session = connect("http://" + endpoint);
const call = session.request({ ":method": "POST", ":path": "/dodil.ignite.v1.ComputeService/ListApps", "content-type": "application/grpc", te: "trailers", authorization: "Bearer ${token}" });
const chunks = [];
call.on("data", (chunk) => chunks.push(chunk));
call.on("end", () => { print(fromBinary(ListAppsResponseSchema, Buffer.concat(chunks).subarray(5))); session.close(); });
call.end(frame);
`,
  // The same call through @grpc/grpc-js, as src/api makes it.
  "grpc-js": `${header}
import { Client, Metadata, credentials } from "@grpc/grpc-js";
const client = new Client(endpoint, credentials.createInsecure());
const metadata = new Metadata();
metadata.set("authorization", "Bearer ${token}");
client.makeUnaryRequest("/dodil.ignite.v1.ComputeService/ListApps", (m) => Buffer.from(toBinary(ListAppsRequestSchema, m)), (b) => fromBinary(ListAppsResponseSchema, b),
  create(ListAppsRequestSchema, { organizationName: "bench" }), metadata, {}, (error, response) => { if (error) throw error; print(response); client.close(); });
`,
};
const loader = join(work, "load.cjs");
writeFileSync(loader, `require(${JSON.stringify(join(REPO, "bin", "compile-cache.js"))}).loadWithCompileCache(require("node:path").resolve(process.argv[2]));\n`);
for (const [name, contents] of Object.entries(programs)) {
  await build({
    stdin: { contents, resolveDir: REPO, sourcefile: `${name}.ts`, loader: "ts" },
    outfile: join(work, `${name}.cjs`),
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    minifyWhitespace: true,
    minifySyntax: true,
    external: ["@grpc/proto-loader"],
    logLevel: "warning",
  });
}

const lists = (stdout) => stdout.includes('"bench/one"');
const cases = [
  { name: "node -e 0 (baseline)", args: ["-e", "0"] },
  { name: "node: require(\"node:http2\")", args: ["-e", 'require("node:http2")'] },
  { name: "protobuf-es descriptors, no call", args: [loader, join(work, "descriptors.cjs")] },
  { name: "ListApps, raw http2 + protobuf-es", args: [loader, join(work, "raw-http2.cjs")], check: lists },
  { name: "ListApps, grpc-js + protobuf-es", args: [loader, join(work, "grpc-js.cjs")], check: lists },
  { name: "dodil ignite app list -o json", args: [dodil, "ignite", "app", "list", "-o", "json"], check: lists },
];
// The warm-up rounds also write the code caches (HOME is the work directory).
const medians = interleavedMedians(cases, runs, env);
await plane.stop();
rmSync(work, { recursive: true, force: true });

const base = medians[0];
console.log(`start-up floor, median of ${runs} runs each (interleaved), against node -e 0 in the same run`);
console.log("program                              median ms   ratio");
cases.forEach((c, index) => {
  console.log(`${c.name.padEnd(36)} ${medians[index].toFixed(0).padStart(9)}   ${(medians[index] / base).toFixed(2).padStart(5)}x`);
});
