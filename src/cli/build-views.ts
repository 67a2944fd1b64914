import { BuildSchema, type Build } from "../gen/dodil/ignite/v1/build_pb.js";
import { BuildStatus } from "../gen/dodil/ignite/v1/common_pb.js";
import type { ResultView } from "../output/render.js";
import { enumLabel, formatTime, protoJson } from "./views.js";

/** Views of the build commands, loaded through deps/builds.ts. */

export function buildStatusName(status: BuildStatus): string {
  return `BUILD_STATUS_${BuildStatus[status] ?? "UNSPECIFIED"}`;
}

export function buildView(build: Build): ResultView {
  return {
    data: protoJson(BuildSchema, build),
    human: {
      kind: "record",
      fields: [
        ["BUILD", build.buildId],
        ["NAME", build.name],
        ["STATUS", enumLabel(buildStatusName(build.status), "BUILD_STATUS_")],
        ["IMAGES", build.imageRefs.join(", ")],
        ["ERROR", build.error],
        ["CREATED", formatTime(build.createdAtMs)],
      ],
      wideFields: [
        ["DOCKERFILE", build.dockerfile],
        ["TAGS", build.tags.join(", ")],
        ["PLATFORM", build.platform],
        // Values from build secrets arrive as *** already; only the names are shown here.
        ["BUILD ARGS", Object.keys(build.buildArgs).sort().join(", ")],
        ["STARTED", formatTime(build.startedAtMs)],
        ["FINISHED", formatTime(build.finishedAtMs)],
      ],
    },
  };
}
