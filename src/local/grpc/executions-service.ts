/** ComputeService: executions (an InvokeAsync call's record, watched to its end) and their stats. */
import { create } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";
import {
  GetExecutionResponseSchema,
  GetExecutionStatsResponseSchema,
  WatchExecutionResponseSchema,
  type Execution,
  type GetExecutionRequest,
  type WatchExecutionResponse,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import { isTerminal } from "../invoke/executions.js";
import { follow } from "./follow.js";
import type { GrpcDeps } from "./grpc-deps.js";
import { send, type Handlers } from "./handlers.js";
import type { AppReq } from "./rpc-kit.js";

export function executionsHandlers({ executions, kit }: GrpcDeps): Handlers {
  const { unary, stream, appScope, authOrg } = kit;
  return {
    getExecution: unary("GetExecution", async (req: GetExecutionRequest, md) => {
      const org = authOrg(md);
      return create(GetExecutionResponseSchema, { execution: await executions.get(org, req.executionId.trim()) });
    }),
    // Each status once, from the current one to the final one.
    watchExecution: stream("WatchExecution", async (req: GetExecutionRequest, call: ServerWritableStream<GetExecutionRequest, WatchExecutionResponse>) => {
      const org = authOrg(call.metadata);
      const id = req.executionId.trim();
      const changes: Execution[] = [];
      let last = -1;
      await follow(
        call as ServerWritableStream<unknown, unknown>,
        (signal) =>
          executions.subscribe(id, (e) => {
            changes.push(e);
            signal();
          }),
        async () => {
          for (const e of changes.length ? changes.splice(0) : [await executions.get(org, id)]) {
            if (e.status !== last) {
              if (!(await send(call, create(WatchExecutionResponseSchema, { execution: e })))) return true;
              last = e.status;
            }
            if (isTerminal(e.status)) return true;
          }
          return false;
        },
      );
    }),
    getExecutionStats: unary("GetExecutionStats", async (req: AppReq, md) => {
      const org = appScope(req, md);
      const s = await executions.stats(org, req.appName);
      return create(GetExecutionStatsResponseSchema, { total: BigInt(s.total), succeeded: BigInt(s.succeeded), failed: BigInt(s.failed), p50Ms: BigInt(s.p50), p99Ms: BigInt(s.p99) });
    }),
  };
}
