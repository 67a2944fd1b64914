/**
 * A refused pull is recognised as such whichever tool reports it: the real words of skopeo and
 * podman, and of docker-registry's own answer (its HTTP status line and error body), against a
 * loopback docker-registry behind htpasswd — wrong credentials and none are "auth", a tag it does
 * not have is "not-found", a port nothing listens on is "network". A local "permission denied" is
 * not a registry's refusal. (Before, a 404 body or status line and Docker's "no basic auth
 * credentials" read as "other", and any "403 Forbidden" was missed.)
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/local/drivers/exec.js";
import { prepareContainersConfig } from "../../src/local/drivers/containers.js";
import { classifyPullError } from "../../src/local/drivers/image-pull.js";
import { registryToolsInstalled, startTestRegistry, type TestRegistry } from "../helpers/registry.js";
import { tempDir } from "../helpers/temp-dirs.js";
import { inCI, podmanMissing } from "./container-helpers.js";

const tools = await registryToolsInstalled();
const skip = !tools && !inCI;
if (skip) console.warn("[pull error words skipped] docker-registry or skopeo is not installed");

describe.skipIf(skip)("classifyPullError reads every tool's refusal", () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startTestRegistry({ label: "words", users: { puller: "right-password" } });
  }, 60_000);
  afterAll(async () => {
    await reg?.stop();
  });

  const skopeo = async (ref: string, creds?: string) => {
    const r = await run("skopeo", ["inspect", "--tls-verify=false", ...(creds ? ["--creds", creds] : ["--no-creds"]), `docker://${ref}`], { timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    return r.stderr;
  };
  /** docker-registry's own answer to a manifest request, as a status line and body. */
  const http = async (repo: string, auth?: string) => {
    const res = await fetch(`${reg.url}/v2/${repo}/manifests/1`, { headers: auth ? { authorization: `Basic ${Buffer.from(auth).toString("base64")}` } : {} });
    return `HTTP/1.1 ${res.status} ${res.statusText}\n${await res.text()}`;
  };

  it("skopeo: wrong credentials and none are auth, a missing tag not-found, a closed port network", async () => {
    expect(classifyPullError(await skopeo(`${reg.host}/team/app:1`, "puller:wrong-password"))).toBe("auth");
    expect(classifyPullError(await skopeo(`${reg.host}/team/app:1`))).toBe("auth");
    expect(classifyPullError(await skopeo(`${reg.host}/team/app:1`, "puller:right-password"))).toBe("not-found");
    expect(classifyPullError(await skopeo("127.0.0.1:1/team/app:1"))).toBe("network");
  }, 120_000);

  it("docker-registry's HTTP answer: 401 with its UNAUTHORIZED body is auth, 404 MANIFEST_UNKNOWN/NAME_UNKNOWN not-found", async () => {
    const wrong = await http("team/app", "puller:wrong-password");
    expect(wrong).toMatch(/^HTTP\/1\.1 401 /);
    expect(classifyPullError(wrong)).toBe("auth");
    expect(classifyPullError(await http("team/app"))).toBe("auth");
    // the status line alone, and the body alone, each say it
    expect(classifyPullError(wrong.split("\n")[0]!)).toBe("auth");
    expect(classifyPullError(wrong.split("\n")[1]!)).toBe("auth");
    const missing = await http("team/app", "puller:right-password");
    expect(missing).toMatch(/^HTTP\/1\.1 404 /);
    expect(classifyPullError(missing)).toBe("not-found");
    expect(classifyPullError(missing.split("\n")[1]!)).toBe("not-found");
  });

  it.skipIf(!!podmanMissing)("podman pull: wrong credentials are auth", async () => {
    const config = await prepareContainersConfig(tempDir("words-podman"));
    const auth = tempDir("words-auth") + "/auth.json";
    writeFileSync(auth, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("puller:wrong-password").toString("base64") } } }), { mode: 0o600 });
    const r = await run("podman", ["pull", "--tls-verify=false", "--authfile", auth, `${reg.host}/team/app:1`], { env: config.env, timeoutMs: 60_000 });
    expect(r.code).not.toBe(0);
    expect(classifyPullError(r.stderr)).toBe("auth");
  }, 120_000);

  it("Docker Engine's sentences are auth; a local permission denied is not", () => {
    expect(classifyPullError("Error response from daemon: pull access denied for team/app, repository does not exist or may require 'docker login'")).toBe("auth");
    expect(classifyPullError("Error response from daemon: Get \"https://r.example/v2/\": no basic auth credentials")).toBe("auth");
    expect(classifyPullError("Error response from daemon: Head \"https://r.example/v2/team/app/manifests/1\": unauthorized: incorrect username or password")).toBe("auth");
    expect(classifyPullError("writing blob: open /var/lib/containers/storage/x: permission denied")).toBe("other");
  });
});
