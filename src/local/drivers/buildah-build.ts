/**
 * The podman driver's image build: `buildah bud` against the plane's own storage, base images
 * already local (`--pull=never`: containerBuild pulled what was missing, outside the build).
 *
 * Build steps are other organizations' code running as root, so where the plane can make network
 * namespaces (root, `ip`, `socat`: AppNetworks) a build gets one of its own, loopback only (not
 * even the gateway is there), its one way out the plane's egress proxy (egress/; not with
 * --offline), and
 *
 * - buildah itself runs in it (`nsenter --net`), so what buildah fetches for the Dockerfile
 *   (`ADD <url>`) cannot reach the plane's loopback listeners either;
 * - HTTP_PROXY and the rest are set in buildah's environment, which buildah hands to RUN steps
 *   (`--http-proxy`, its default) without writing them into the image's config or history (build
 *   args would be written into the history of the RUN steps); buildah's own `ADD <url>` goes
 *   through the proxy too, except to loopback (Go's rule), which stays the namespace's own;
 * - RUN steps run in OCI isolation (runc) joined to it: a pid namespace of their own (chroot
 *   isolation shares the host's, where a RUN step of org B read the environment, build secrets
 *   included, and the root filesystem of org A's RUN step running at the same time through /proc),
 *   a mount namespace holding the image's filesystem and the pip mirror only, buildah's default
 *   capabilities and device list.
 *
 * Without namespaces RUN steps keep buildah's chroot isolation on the host network (what
 * docs/threat-model.md says of that case). Either way `RUN --mount=type=cache` directories are the
 * organization's own: buildah keeps them under $TMPDIR, which is per organization inside the data
 * dir (by default /var/tmp, shared by every build of the machine).
 */
import { promises as fsp } from "node:fs";
import * as path from "node:path";
import { run, tail } from "./exec.js";
import type { PipMirror } from "./containers.js";
import type { AppNetworks } from "./app-network.js";
import { BuildFailure, type BuildRequest } from "./types.js";

const BUILD_TIMEOUT_MS = 30 * 60_000;

export interface BuildahBuildOptions {
  /** The environment that points buildah at the plane's storage and config. */
  env: () => NodeJS.ProcessEnv;
  /** Per-organization $TMPDIR (RUN --mount=type=cache) under this directory. */
  tmpRoot: string;
  pip: () => PipMirror;
  /** A network namespace per build; absent: build steps share the host network. */
  networks?: AppNetworks;
}

/** What one build gets: the unpacked context, the log and the build's cancellation. */
export interface BuildahStep {
  context: { root: string; dockerfile: string };
  out: (line: string) => void;
  clean: (text: string) => string;
  signal: AbortSignal;
}

export class BuildahBuilder {
  constructor(private readonly o: BuildahBuildOptions) {}

  async build(req: BuildRequest, step: BuildahStep): Promise<void> {
    const { out, signal } = step;
    const tmp = path.join(this.o.tmpRoot, req.org);
    await fsp.mkdir(tmp, { recursive: true, mode: 0o700 });
    const network = await this.o.networks?.create([], out, { gateway: false, egress: true });
    try {
      // --force-rm: a failed build leaves no working container (and its mount) behind
      const args = ["bud", "--pull=never", "--layers", "--force-rm", "-f", step.context.dockerfile, "-t", req.imageRef, "--label", `org.dodil.ignite.build=${req.buildId}`];
      // chroot isolation cannot join a namespace ("cannot set --network other than host with --isolation chroot")
      args.push(...(network ? ["--isolation", "oci", "--network", `ns:${network.path}`] : ["--isolation", "chroot", "--network", "host"]));
      for (const [k, v] of Object.entries(req.buildArgs)) args.push("--build-arg", `${k}=${v}`);
      const pip = this.o.pip();
      for (const m of pip.mounts) args.push("-v", `${m}:${m}:ro`);
      if (pip.mounts.length) out(`pip mirror of this machine mounted read-only into RUN steps: ${pip.mounts.join(", ")}`);
      if (network && /^https?:/.test(pip.env["PIP_INDEX_URL"] ?? "")) out(`[Warning] the pip index ${pip.env["PIP_INDEX_URL"]} is on this machine's loopback, which RUN steps cannot reach (their network is their own)`);
      const way = network?.proxyEnv["HTTP_PROXY"] ? `HTTP(S) out through the plane's egress proxy (${network.proxyEnv["HTTP_PROXY"]}), which refuses this machine's own addresses` : "offline";
      out(network ? `RUN steps: OCI isolation in network namespace ${network.name} (loopback only), ${way}` : "RUN steps: chroot isolation on the host network");
      args.push(step.context.root);
      const [cmd, ...argv] = network ? ["nsenter", `--net=${network.path}`, "--", "buildah", ...args] : ["buildah", ...args];
      const r = await run(cmd!, argv, { env: { ...this.o.env(), ...network?.proxyEnv, TMPDIR: tmp }, signal, timeoutMs: BUILD_TIMEOUT_MS, onLine: (l) => l.trim() && out(l) });
      if (signal.aborted) throw new BuildFailure("build cancelled");
      if (r.code !== 0) {
        throw new BuildFailure(step.clean(r.timedOut ? "buildah timed out after 30 minutes" : tail(r.stderr, 2) || `buildah exited with ${r.code ?? r.signal}`));
      }
    } finally {
      // whatever a RUN step left running goes with the namespace
      await network?.close();
    }
  }
}
