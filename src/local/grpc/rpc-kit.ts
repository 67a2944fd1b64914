/**
 * What every service file of grpc/ builds its handlers with: the unary and server-streaming
 * adapters (errors become gRPC statuses, logged once) and the caller's organization from the bearer
 * token, scoped by the one access rule (auth/org-access.ts).
 */
import type { Metadata, sendUnaryData, ServerUnaryCall, ServerWritableStream, UntypedHandleCall } from "@grpc/grpc-js";
import { bearerCredential, type OrgAccess } from "../auth/org-access.js";
import { checkAppName } from "../ids.js";
import { toStatus } from "./handlers.js";

export type AppReq = { organizationName: string; appName: string };

export interface RpcKit {
  log: (line: string) => void;
  /** The organization the call's token acts for. */
  authOrg(md: Metadata): string;
  /** The token's organization when it may act on `requested` (empty: its own). */
  scope(md: Metadata, requested: string): string;
  /** scope() for a request naming an app, whose name is checked too. */
  appScope(req: AppReq, md: Metadata): string;
  unary<Req, Res>(method: string, fn: (req: Req, md: Metadata, call: ServerUnaryCall<Req, Res>) => Promise<Res>): UntypedHandleCall;
  stream<Req, Res>(method: string, fn: (req: Req, call: ServerWritableStream<Req, Res>) => Promise<void>): UntypedHandleCall;
}

export function rpcKit(access: OrgAccess, log: (line: string) => void): RpcKit {
  const token = (md: Metadata) => {
    const v = md.get("authorization")[0];
    return typeof v === "string" ? bearerCredential(v) : undefined;
  };
  const kit: RpcKit = {
    log,
    authOrg: (md) => access.orgOf(token(md)),
    scope: (md, requested) => access.scope(token(md), requested),
    appScope: (req, md) => {
      const org = kit.scope(md, req.organizationName);
      checkAppName(req.appName);
      return org;
    },
    unary: <Req, Res>(method: string, fn: (req: Req, md: Metadata, call: ServerUnaryCall<Req, Res>) => Promise<Res>) =>
      ((call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => {
        fn(call.request, call.metadata, call).then(
          (r) => cb(null, r),
          (e) => cb(toStatus(e, log, method)),
        );
      }) as UntypedHandleCall,
    stream: <Req, Res>(method: string, fn: (req: Req, call: ServerWritableStream<Req, Res>) => Promise<void>) =>
      ((call: ServerWritableStream<Req, Res>) => {
        fn(call.request, call).then(
          () => {
            if (!call.writableEnded) call.end();
          },
          (e) => {
            if (!call.writableEnded) call.emit("error", toStatus(e, log, method));
          },
        );
      }) as UntypedHandleCall,
  };
  return kit;
}
