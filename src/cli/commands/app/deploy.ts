import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { DEFAULT_WARN_BYTES, parseSize } from "../../../core/context-size.js";
import { resolveDraftSource } from "../../../core/draft-source.js";
import { byteProgress } from "../../../output/progress.js";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";
import { appIdOrManifest } from "../../manifest-app.js";
import { manifestFor, noteDeclaredRuntime, sourceFlagsOrManifest, sourceOptions } from "../draft/save.js";
import { unsetManifestEnv } from "../../../core/info-yaml.js";
import { openLocalContext } from "../../local-context.js";
import { appFlagsFrom, appOptions } from "./app-options.js";

const STEP_TEXT = { create: "Creating", update: "Updating", save: "Saving the draft of", publish: "Publishing" } as const;
const STEP_FAILED = { create: "creating the app", update: "updating the app", save: "saving the draft", publish: "publishing" } as const;

export const appDeployCommand = defineCommand({
  name: "deploy",
  summary: "Create or update an app, save its code and publish it, in one step",
  description:
    "Create the app (or update it when it exists), save the source as its draft, and publish it; prints the app's URL at the end. " +
    "Takes the source flags of `draft save` (the same packing, .dockerignore rules and size guard) and the flags of `app create`. " +
    "As on the platform, each deploy sets the app's whole env to the --env and --env-file given: repeat every key, or keep them in a file (a warning names the keys a redeploy drops). " +
    "Other settings change only when their flag is given. " +
    "In a directory whose info.yaml has `name:`, the name may be left out and --code defaults to the directory (`dodil ignite app deploy` alone).",
  args: [{ name: "name", description: "app name, or org:name (default: the name: in ./info.yaml)", required: false }],
  options: [
    ...sourceOptions,
    ...appOptions,
    { flags: "--no-default-excludes", description: "also send .git, node_modules, __pycache__, target and .venv" },
    { flags: "--size-warning <size>", description: "warn when the context is larger than this (default 100MB; 0 disables)" },
  ],
  examples: [
    "dodil ignite app deploy support-desk --code ./support-desk --runtime python --tier small --allow-unauthenticated --env K=V --env K2=V2",
    "dodil ignite app deploy support-desk-portal --code ./web/portal --dockerfile-path Dockerfile --tier small --health-path /healthz --env BACKEND_URL=http://backend",
    "dodil ignite app deploy greeter --image-ref ghcr.io/acme-corp/greeter:1.0.0 -o json | jq -r .url",
  ],
  async handler([name = ""], options, ctx) {
    const deps = await loadDeps.packing();
    const { checkDeployFlags, deployApp, protoJson, AppMetaSchema, DraftInfoSchema, displayId } = deps;
    const ref = parseAppRef(await appIdOrManifest(name, ctx), ctx.settings().org.value);
    // Every flag is checked before anything is packed or sent.
    const given = await appFlagsFrom(options, ctx.cwd);
    checkDeployFlags(given);
    const source = await resolveDraftSource(await sourceFlagsOrManifest(options, ctx), ctx.cwd);
    const warnText = opt.string(options, "sizeWarning");
    const warnBytes = warnText === undefined ? DEFAULT_WARN_BYTES : parseSize(warnText, "--size-warning");
    const { output } = ctx;
    noteDeclaredRuntime(output, source);
    const flags = { ...given, ...manifestFor(output, source, given) };
    checkDeployFlags(flags);
    const unset = source.kind === "directory" ? unsetManifestEnv(source.manifest, flags.env ?? []) : [];
    if (unset.length) output.warn(`${source.kind === "directory" ? source.manifest?.shown : "info.yaml"} lists env ${unset.join(", ")}, which this deploy does not set`);
    const local = await openLocalContext(ctx, source, { defaultExcludes: options.defaultExcludes !== false, warnBytes, alwaysPack: false });
    try {
      const api = await ctx.api();
      const spinner = await output.spinner(`Deploying ${formatAppRef(ref)}…`);
      const progress = byteProgress(output, spinner, "Uploading");
      let step: keyof typeof STEP_TEXT = "create";
      try {
        const result = await deployApp(api, ref, {
          source,
          archive: local.archive,
          reuse: local.reuse,
          stream: local.stream,
          flags,
          inputSchema: flags.inputSchema,
          outputSchema: flags.outputSchema,
          onUploadProgress: (sent, total) => progress.update(sent, total),
          onAnswerLost: (message) => output.warn(message),
          onStep: (next) => {
            step = next;
            spinner.update(`${STEP_TEXT[next]} ${formatAppRef(ref)}…`);
            if (!output.io.stderrIsTTY && !output.isMachine) output.info(`${STEP_TEXT[next]} ${formatAppRef(ref)}…`);
          },
        });
        spinner.stop();
        await local.saved(result.saved);
        const app = result.published.app;
        const appId = app?.id ?? `${ref.org ?? ""}/${ref.name}`;
        const url = app?.publicUrls[0] ?? "";
        if (result.droppedEnv.length > 0) output.warn(`this deploy removed env ${result.droppedEnv.join(", ")} (each deploy sets the whole env: pass every --env)`);
        output.success(`${result.created ? "created and deployed" : "deployed"} ${displayId(appId)} version ${result.published.version}`);
        return {
          data: {
            app_id: appId,
            created: result.created,
            version: result.published.version,
            deploy_id: result.published.deployId,
            url,
            public_urls: app?.publicUrls ?? [],
            draft: protoJson(DraftInfoSchema, result.saved.draft),
            app: app ? protoJson(AppMetaSchema, app) : null,
          },
          human: {
            kind: "record",
            fields: [
              ["APP", displayId(appId)],
              ["VERSION", String(result.published.version)],
              ["URL", url],
            ],
            wideFields: [
              ["BUILD", result.published.deployId],
              ["CODE HASH", result.saved.draft.codeHash],
              ["ALL URLS", (app?.publicUrls ?? []).join(", ")],
            ],
          },
        };
      } catch (error) {
        spinner.fail(`deploying ${formatAppRef(ref)} failed while ${STEP_FAILED[step]}`);
        throw error;
      }
    } finally {
      await local.close();
    }
  },
});
