/** ComputeService: an app's logs and events, recent ones and then as they happen. */
import { create } from "@bufbuild/protobuf";
import type { ServerWritableStream } from "@grpc/grpc-js";
import {
  AppEventSchema,
  AppLogLineSchema,
  GetAppEventsResponseSchema,
  GetAppLogsResponseSchema,
  type AppEvent,
  type AppLogLine,
  type GetAppEventsRequest,
  type GetAppLogsRequest,
} from "../../gen/dodil/ignite/v1/compute_pb.js";
import type { EventRec, LogLineRec } from "../observability/observability-hub.js";
import { followItems } from "./follow.js";
import type { GrpcDeps } from "./grpc-deps.js";
import type { Handlers } from "./handlers.js";

const logMsg = (l: LogLineRec): AppLogLine =>
  create(AppLogLineSchema, { timestampMs: BigInt(l.timestampMs), replicaId: l.replicaId, stream: l.stream, message: l.message, version: l.version });
const eventMsg = (e: EventRec): AppEvent =>
  create(AppEventSchema, { timestampMs: BigInt(e.timestampMs), type: e.type, reason: e.reason, message: e.message, replicaId: e.replicaId });

export function logsHandlers({ platform, hub, kit }: GrpcDeps): Handlers {
  const { unary, stream, appScope } = kit;
  return {
    getAppLogs: unary("GetAppLogs", async (req: GetAppLogsRequest, md) => {
      const org = appScope(req, md);
      await platform.apps.requireApp(org, req.appName);
      const lines = hub.getLogs(`${org}/${req.appName}`, { limit: req.limit, replicaId: req.replicaId, sinceMs: Number(req.sinceMs) });
      return create(GetAppLogsResponseSchema, { lines: lines.map(logMsg) });
    }),
    streamAppLogs: stream("StreamAppLogs", async (req: GetAppLogsRequest, call: ServerWritableStream<GetAppLogsRequest, AppLogLine>) => {
      const org = appScope(req, call.metadata);
      await platform.apps.requireApp(org, req.appName);
      const key = `${org}/${req.appName}`;
      // recent lines first (limit, default 1000; since_ms), then new lines as they are written
      const match = (l: LogLineRec) => !req.replicaId || l.replicaId === req.replicaId;
      const backlog = hub.getLogs(key, { limit: req.limit, replicaId: req.replicaId, sinceMs: Number(req.sinceMs) });
      await followItems<LogLineRec>(
        call as unknown as ServerWritableStream<unknown, unknown>,
        (push) => {
          const unsubscribe = hub.subscribeLogs(key, (l) => match(l) && push(l));
          for (const l of backlog) push(l);
          return unsubscribe;
        },
        logMsg,
      );
    }),
    getAppEvents: unary("GetAppEvents", async (req: GetAppEventsRequest, md) => {
      const org = appScope(req, md);
      await platform.apps.requireApp(org, req.appName);
      return create(GetAppEventsResponseSchema, { events: hub.getEvents(`${org}/${req.appName}`, req.limit).map(eventMsg) });
    }),
    streamAppEvents: stream("StreamAppEvents", async (req: GetAppEventsRequest, call: ServerWritableStream<GetAppEventsRequest, AppEvent>) => {
      const org = appScope(req, call.metadata);
      await platform.apps.requireApp(org, req.appName);
      const key = `${org}/${req.appName}`;
      const backlog = hub.getEvents(key, req.limit);
      await followItems<EventRec>(
        call as unknown as ServerWritableStream<unknown, unknown>,
        (push) => {
          const unsubscribe = hub.subscribeEvents(key, push);
          for (const e of backlog) push(e);
          return unsubscribe;
        },
        eventMsg,
      );
    }),
  };
}
