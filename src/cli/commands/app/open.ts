import { formatAppRef, parseAppRef } from "../../../core/app-ref.js";
import { CliError } from "../../../errors.js";
import { launchBrowser } from "../../browser.js";
import { defineCommand } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";
import { APP_ID_OR_MANIFEST, appIdOrManifest } from "../../manifest-app.js";

export const appOpenCommand = defineCommand({
  name: "open",
  summary: "Print the app's URL and open it in a browser",
  description:
    "Print the app's public URL on stdout and, when stdout is a terminal and a browser can be started here ($BROWSER, open, or xdg-open with a display), open it. " +
    "Elsewhere (a pipe, CI, SSH) it only prints the URL.",
  args: [{ name: "id", description: APP_ID_OR_MANIFEST, required: false }],
  examples: ["dodil ignite app open acme-corp:greeter", "dodil ignite app open", 'curl "$(dodil ignite app open greeter)/health"'],
  async handler([id = ""], _options, ctx) {
    const { getApp, displayId } = await loadDeps.compute();
    const ref = parseAppRef(await appIdOrManifest(id, ctx), ctx.settings().org.value);
    const app = await getApp(await ctx.api(), ref);
    if (!app) throw new CliError("NOT_FOUND", `app ${formatAppRef(ref)} not found`);
    const url = app.publicUrls[0];
    if (!url) throw new CliError("FAILED_PRECONDITION", `app ${displayId(app.id)} has no URL yet`, { hint: `publish it first: \`dodil ignite app deploy ${formatAppRef(ref)}\`` });
    const opened = ctx.io.stdoutIsTTY && !ctx.output.isMachine ? await launchBrowser(url, ctx.env) : undefined;
    if (opened) ctx.output.info(`opened ${url} with ${opened}`);
    return { data: { app_id: app.id, url, opened: opened !== undefined }, human: { kind: "text", text: url } };
  },
});
