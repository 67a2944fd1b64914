import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildStatus, VersionStatus } from "../../src/gen/dodil/ignite/v1/common_pb.js";
import {
  ComputeService,
  GetDraftInfoResponseSchema,
  StreamCompileLogsResponseSchema,
  type StreamCompileLogsRequest,
} from "../../src/gen/dodil/ignite/v1/compute_pb.js";
import { grpcServiceDefinition } from "../../src/wire/grpc-service.js";
import { runCli } from "../helpers/run-cli.js";

/**
 * A ComputeService at the network boundary whose log stream breaks twice mid-build (as a control
 * plane restart would), to check the CLI resumes from the last line it printed.
 */
const LINES = ["STEP 1/3: FROM scratch", "STEP 2/3: COPY . .", "STEP 3/3: CMD x", "COMMIT", "Successfully built"];
const requestedOffsets: number[] = [];
let server: grpc.Server;
let endpoint: string;

beforeAll(async () => {
  server = new grpc.Server();
  const unimplemented = (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback({ code: grpc.status.UNIMPLEMENTED, details: "not in this fake" });
  const handlers: Record<string, grpc.UntypedHandleCall> = {};
  for (const method of ComputeService.methods) handlers[method.localName] = unimplemented as grpc.UntypedHandleCall;
  handlers.getDraftInfo = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
    callback(null, create(GetDraftInfoResponseSchema, { draft: { status: VersionStatus.DRAFT, deployId: "bld_fake", buildStatus: BuildStatus.RUNNING } }))) as grpc.UntypedHandleCall;
  handlers.streamCompileLogs = ((call: grpc.ServerWritableStream<StreamCompileLogsRequest, unknown>) => {
    const from = Number(call.request.fromOffset);
    requestedOffsets.push(from);
    // First connection: one line too many is resent on purpose (offset 0 again) to prove de-duplication.
    const start = requestedOffsets.length === 1 ? from : Math.max(0, from - 1);
    const end = requestedOffsets.length < 3 ? Math.min(LINES.length, start + 2) : LINES.length;
    for (let offset = start; offset < end; offset += 1) {
      call.write(create(StreamCompileLogsResponseSchema, { item: { case: "entry", value: { offset: BigInt(offset), timestampMs: 0n, line: LINES[offset] } } }));
    }
    if (requestedOffsets.length < 3) {
      call.emit("error", { code: grpc.status.UNAVAILABLE, details: "the control plane went away" });
      return;
    }
    call.write(create(StreamCompileLogsResponseSchema, { item: { case: "outcome", value: { status: BuildStatus.SUCCEEDED, imageRef: "local/x:1" } } }));
    call.end();
  }) as grpc.UntypedHandleCall;
  server.addService(grpcServiceDefinition(ComputeService), handlers);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  endpoint = `127.0.0.1:${port}`;
});

afterAll(() => {
  server.forceShutdown();
});

describe("draft compile-logs --follow across a broken stream", () => {
  it("reconnects and resumes after the last printed line, without duplicates or gaps", async () => {
    const result = await runCli(["ignite", "draft", "compile-logs", "acme-corp:greeter", "--follow"], {
      env: { IGNITE_API_ENDPOINT: endpoint, IGNITE_TOKEN: "any-token-for-the-fake", IGNITE_DEBUG: "1", IGNITE_TIMEOUT: "8s" },
    });
    expect(result.exitCode, `${result.stderr}\n${result.stdout}`).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual(LINES);
    expect(requestedOffsets).toEqual([0, 2, 3]);
    expect(result.stderr).toMatch(/reconnecting \(attempt 2\)/);
  });
});
