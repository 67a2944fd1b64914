import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkspace, withoutTraces, type Workspace } from "../helpers/workspace.js";
import { OTHER_TOKEN } from "../helpers/control-plane.js";

let workspace: Workspace;
let work: string;
const GIT_PAT = "ghp_secretvalue_do_not_print_0001";
const REGISTRY_PASSWORD = "registry-pass-do-not-print-0002";
const BUILD_SECRET = "npm-token-do-not-print-0003";

beforeAll(async () => {
  workspace = await startWorkspace("services");
  ({ work } = workspace);
  mkdirSync(join(work, "big"));
  // Incompressible, so the packed context is over the 4 MB inline limit.
  writeFileSync(join(work, "big", "Dockerfile"), "FROM busybox\nCOPY blob /blob\n");
  // Inputs of the model commands: documents to rank and recordings (their content is never decoded).
  writeFileSync(join(work, "docs.txt"), "Run draft publish.\n\nCats sleep a lot.\n");
  writeFileSync(join(work, "talk.wav"), Buffer.from("RIFF....WAVEfmt "));
  writeFileSync(join(work, "empty.wav"), "");
  writeFileSync(join(work, "huge.wav"), Buffer.alloc(25 * 1024 * 1024 + 1));
  writeFileSync(join(work, "big", "blob"), Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, () => Math.floor(Math.random() * 256))));
});

afterAll(async () => {
  await workspace?.close();
});

const cli: Workspace["cli"] = (argv, env, extra) => workspace.cli(argv, env, extra);

describe("build", () => {
  let contextId = "";
  let buildId = "";

  it("uploads a context in chunks and prints its id", async () => {
    const upload = await cli(["build", "upload", "--folder", "app", "--name", "greeter", "-o", "json"]);
    expect(upload.exitCode, upload.stderr).toBe(0);
    const result = JSON.parse(upload.stdout);
    expect(result.context_id).not.toBe("");
    expect(result.digest).toMatch(/^sha256:/);
    contextId = result.context_id;
    const plain = await cli(["build", "upload", "--folder", "app", "--name", "greeter"]);
    expect(plain.stdout.trim()).toMatch(/^\S+$/);
  });

  it("builds from an uploaded context and follows the log to the end", async () => {
    const create = await cli(["build", "create", "greeter", "--context-id", contextId, "--tag", "1.0.0", "--tag", "latest", "--build-arg", "APP_ENV=prod", "--follow"]);
    expect(create.exitCode, create.stderr).toBe(0);
    expect(create.stdout).toMatch(/COPY server\.py/);
    expect(create.stderr).toMatch(/build succeeded: local\.ignite\/acme-corp\/greeter:1\.0\.0/);
    buildId = /build (bld_\S+) started/.exec(create.stderr)?.[1] ?? "";
    expect(buildId).not.toBe("");
  });

  it("builds an inline context and shows it with get, list and logs", async () => {
    const create = await cli(["build", "create", "inline", "--context", "app", "-o", "json"]);
    expect(create.exitCode, create.stderr).toBe(0);
    const { build_id: id, status } = JSON.parse(create.stdout);
    expect(status).toBe("BUILD_STATUS_PENDING");
    const logs = await cli(["build", "logs", id, "--follow", "-o", "json"]);
    expect(logs.exitCode, logs.stderr).toBe(0);
    const last = JSON.parse(logs.stdout.trim().split("\n").at(-1) as string);
    expect(last.finished).toMatchObject({ build_id: id, status: "BUILD_STATUS_SUCCEEDED", image_refs: ["local.ignite/acme-corp/inline:latest"] });

    const get = await cli(["build", "get", id]);
    expect(get.stdout).toMatch(/^STATUS\s+succeeded$/m);
    const replay = await cli(["build", "logs", id]);
    expect(replay.exitCode, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/COPY server\.py/);

    const list = await cli(["build", "list", "--status", "succeeded", "-o", "json"]);
    expect(JSON.parse(list.stdout).map((b: { build_id: string }) => b.build_id)).toEqual(expect.arrayContaining([id, buildId]));
    const byName = await cli(["build", "list", "--name", "inline"]);
    expect(byName.stdout).toMatch(/^BUILD\s+NAME\s+STATUS\s+CREATED/);
    expect(byName.stdout).toMatch(/inline\s+succeeded/);
    expect(byName.stdout).not.toMatch(/greeter/);
  });

  it("cancels a running build (again: returned as is); cancelling a finished one exits 1", async () => {
    // Host builds are quick: retry the race until a cancel lands while the build runs.
    let cancelled: { build_id: string; status: string } | undefined;
    for (let attempt = 0; attempt < 10 && !cancelled; attempt += 1) {
      const { build_id: id } = JSON.parse((await cli(["build", "create", "slow", "--context", "app", "-o", "json"])).stdout);
      const cancel = await cli(["build", "cancel", id, "-o", "json"]);
      if (cancel.exitCode === 0) cancelled = JSON.parse(cancel.stdout);
      else expect(withoutTraces(cancel.stderr)[0]).toMatch(/SUCCEEDED|succeeded|cannot/);
    }
    expect(cancelled?.status).toBe("BUILD_STATUS_CANCELLED");
    const again = await cli(["build", "cancel", cancelled?.build_id ?? ""]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^STATUS\s+cancelled$/m);
    const logs = await cli(["build", "logs", cancelled?.build_id ?? "", "--follow"]);
    expect(logs.exitCode).toBe(1);
    expect(withoutTraces(logs.stderr).at(-1)).toMatch(/cancelled/);
    const done = await cli(["build", "cancel", buildId]);
    expect(done.exitCode).toBe(1);
  });

  it("sets build secrets without printing their values; builds show them as ***", async () => {
    const set = await cli([
      "build", "secrets", "set", "--registry-credential", `ghcr.io=${REGISTRY_PASSWORD}`, "--git-username", "ci-bot", "--git-password", "-", "--build-secret", `NPM_TOKEN=${BUILD_SECRET}`,
    ], {}, { stdin: `${GIT_PAT}\n` });
    expect(set.exitCode, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/^REGISTRIES\s+ghcr\.io$/m);
    expect(set.stdout).toMatch(/^BUILD SECRETS\s+NPM_TOKEN$/m);
    const create = await cli(["build", "create", "withsecret", "--context", "app", "--follow", "-o", "json"]);
    expect(create.exitCode, create.stderr).toBe(0);
    const last = JSON.parse(create.stdout.trim().split("\n").at(-1) as string);
    expect(last.finished.build_args.NPM_TOKEN).toBe("***");
    for (const out of [set.stdout, set.stderr, create.stdout, create.stderr]) {
      for (const secret of [GIT_PAT, REGISTRY_PASSWORD, BUILD_SECRET]) expect(out).not.toContain(secret);
    }
  });

  it.each<[string, string[], number, RegExp]>([
    ["upload without --folder", ["build", "upload", "--name", "x"], 2, /--folder <dir> is required/],
    ["upload of a missing folder", ["build", "upload", "--folder", "nope", "--name", "x"], 2, /--folder nope does not exist/],
    ["upload with a bad name", ["build", "upload", "--folder", "app", "--name", "Bad Name"], 2, /invalid --name "Bad Name"/],
    ["create without a source", ["build", "create", "x"], 2, /no build source/],
    ["create with two sources", ["build", "create", "x", "--context", "app", "--git-url", "https://example.com/r.git"], 2, /--context and --git-url cannot be used together/],
    ["create with --git-ref alone", ["build", "create", "x", "--context", "app", "--git-ref", "main"], 2, /--git-ref needs --git-url/],
    ["create with a bad tag", ["build", "create", "x", "--context", "app", "--tag", "bad tag"], 2, /invalid --tag "bad tag"/],
    ["create with a bad --timeout-secs", ["build", "create", "x", "--context", "app", "--timeout-secs", "soon"], 2, /invalid value "soon" for --timeout-secs/],
    ["create with a bad --platform", ["build", "create", "x", "--context", "app", "--platform", "amd64"], 2, /invalid value "amd64" for --platform/],
    ["create with a bad build arg", ["build", "create", "x", "--context", "app", "--build-arg", "NOEQ"], 2, /invalid --build-arg "NOEQ"/],
    ["an inline context of 4 MB or more", ["build", "create", "big", "--context", "big"], 7, /inline contexts must be under 4 MB/],
    ["an unknown context id", ["build", "create", "x", "--context-id", "ctx_nope"], 5, /not found|ctx_nope/],
    ["a missing Dockerfile", ["build", "create", "x", "--context", "app", "--dockerfile", "Nope.Dockerfile"], 2, /Nope\.Dockerfile/],
    ["get of an unknown build", ["build", "get", "bld_nope"], 5, /not found|bld_nope/],
    ["a bad --status", ["build", "list", "--status", "done"], 2, /invalid value "done" for --status/],
    ["secrets set with nothing", ["build", "secrets", "set"], 2, /nothing to set/],
    ["secrets set with a lone --git-username", ["build", "secrets", "set", "--git-username", "u"], 2, /--git-username and --git-password go together/],
    ["a malformed registry credential", ["build", "secrets", "set", "--registry-credential", "ghcr.io"], 2, /invalid --registry-credential for "\?": use REGISTRY=AUTH/],
  ])("rejects %s", async (_name, argv, code, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(code);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});

describe("secret", () => {
  it("creates, lists (no values), gets (with the value), overwrites and deletes slots", async () => {
    const git = await cli(["secret", "create", "github-ci", "--type", "git", "--username", "bot", "--token", GIT_PAT]);
    expect(git.exitCode, git.stderr).toBe(0);
    expect(git.stdout).toMatch(/^TYPE\s+git$/m);
    const registry = await cli(["secret", "create", "ghcr-pull", "--type", "registry", "--username", "bot", "--password", "-", "--server-address", "ghcr.io", "-o", "json"], {}, { stdin: REGISTRY_PASSWORD });
    expect(registry.exitCode, registry.stderr).toBe(0);
    expect(JSON.parse(registry.stdout)).toMatchObject({ name: "ghcr-pull", type: "registry_secret" });
    for (const out of [git.stdout, git.stderr, registry.stdout, registry.stderr]) expect(out).not.toMatch(/do-not-print|do_not_print/);

    const list = await cli(["secret", "list"]);
    expect(list.stdout).toMatch(/^NAME\s+TYPE\s+UPDATED/);
    expect(list.stdout).toMatch(/ghcr-pull\s+registry/);
    expect(list.stdout).toMatch(/github-ci\s+git/);
    const listJson = await cli(["secret", "list", "-o", "json"]);
    expect(listJson.stdout).not.toMatch(/do-not-print|do_not_print/);

    const get = await cli(["secret", "get", "github-ci", "-o", "json"]);
    expect(JSON.parse(get.stdout).value.git_secret).toEqual({ username: "bot", token: GIT_PAT });
    const getTable = await cli(["secret", "get", "ghcr-pull"]);
    expect(getTable.stdout).toMatch(new RegExp(`^PASSWORD\\s+${REGISTRY_PASSWORD}$`, "m"));
    expect(getTable.stdout).toMatch(/^SERVER\s+ghcr\.io$/m);

    expect((await cli(["secret", "create", "github-ci", "--type", "git", "--token", "rotated"])).exitCode).toBe(0);
    expect(JSON.parse((await cli(["secret", "get", "github-ci", "-o", "json"])).stdout).value.git_secret.token).toBe("rotated");

    const refused = await cli(["secret", "delete", "github-ci"]);
    expect(refused.exitCode).toBe(2);
    expect(withoutTraces(refused.stderr)[0]).toMatch(/refusing to delete secret github-ci without confirmation: pass --yes/);
    expect((await cli(["secret", "delete", "github-ci", "--yes"])).exitCode).toBe(0);
    expect((await cli(["secret", "get", "github-ci"])).exitCode).toBe(5);
    expect((await cli(["secret", "delete", "github-ci", "--yes"])).exitCode).toBe(0);
    const other = await cli(["secret", "list", "-o", "json", "--token", OTHER_TOKEN]);
    expect(other.stdout.trim()).toBe("[]");
  });

  it.each<[string, string[], number, RegExp]>([
    ["a bad name", ["secret", "create", "bad name", "--type", "git", "--token", "t"], 2, /invalid secret name "bad name"/],
    ["no --type", ["secret", "create", "s", "--token", "t"], 2, /--type is required: git or registry/],
    ["a bad --type", ["secret", "create", "s", "--type", "ssh", "--token", "t"], 2, /invalid value "ssh" for --type/],
    ["git without a token", ["secret", "create", "s", "--type", "git", "--username", "u"], 2, /--type git needs --token/],
    ["registry without a username", ["secret", "create", "s", "--type", "registry", "--password", "p"], 2, /--type registry needs --username/],
    ["registry without a password", ["secret", "create", "s", "--type", "registry", "--username", "u"], 2, /--type registry needs --password/],
    ["both --token and --password", ["secret", "create", "s", "--type", "git", "--token", "a", "--password", "b"], 2, /--token and --password cannot be used together/],
    ["--server-address on git", ["secret", "create", "s", "--type", "git", "--token", "a", "--server-address", "ghcr.io"], 2, /--server-address applies to --type registry/],
    ["get of a missing slot", ["secret", "get", "missing"], 5, /missing/],
  ])("rejects %s", async (_name, argv, code, message) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(code);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});

describe("models", () => {
  it("lists and filters the catalog and shows one model, without a token", async () => {
    const list = await cli(["models", "list"], { IGNITE_TOKEN: "" });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+FAMILY\s+TASK\s+INPUT\s+OUTPUT/);
    expect(list.stdout).toMatch(/kimi-k2\.5/);
    const audio = JSON.parse((await cli(["models", "list", "--input-modality", "audio", "-o", "json"])).stdout);
    expect(audio.map((m: { id: string }) => m.id)).toEqual(["whisper-large-v3"]);
    const none = await cli(["models", "list", "--family", "nope", "-o", "json"]);
    expect(none.stdout.trim()).toBe("[]");
    const get = await cli(["models", "get", "jina-embeddings-v4", "-o", "json"]);
    expect(JSON.parse(get.stdout)).toMatchObject({ id: "jina-embeddings-v4" });
  });

  it.each<[string, string[]]>([
    ["ChatCompletion", ["models", "chat", "kimi-k2.5", "hello"]],
    ["StreamChatCompletion", ["models", "chat", "kimi-k2.5", "hello", "--stream"]],
    ["Embed", ["models", "embed", "jina-embeddings-v4", "hello"]],
    ["Infer", ["models", "infer", "kimi-k2.5", "-p", "{}"]],
    ["StreamInfer", ["models", "infer", "kimi-k2.5", "-p", "{}", "--stream"]],
    ["Rerank", ["models", "rerank", "bge-reranker-v2", "deploy", "--document", "a", "--document", "b"]],
    ["StreamRerank", ["models", "rerank", "bge-reranker-v2", "deploy", "--documents-file", "docs.txt", "--stream"]],
    ["Transcribe", ["models", "transcribe", "whisper-large-v3", "talk.wav", "--language", "en"]],
  ])("%s answers UNIMPLEMENTED on the local control plane (exit 1, the method named)", async (method, argv) => {
    const result = await cli(argv);
    expect(result.exitCode).toBe(1);
    expect(withoutTraces(result.stderr)[0]).toMatch(new RegExp(`ModelService\\.${method} is not available on the local control plane`));
    expect(result.stdout).toBe("");
  });

  it.each<[string, string[], number, RegExp]>([
    ["an unknown model", ["models", "get", "gpt-nope"], 5, /gpt-nope/],
    ["chat with an unknown model", ["models", "chat", "gpt-nope", "hi"], 5, /gpt-nope/],
    ["chat without a prompt", ["models", "chat", "kimi-k2.5"], 2, /nothing to send/],
    ["a bad --message", ["models", "chat", "kimi-k2.5", "--message", "robot:hi"], 2, /invalid --message "robot:hi"/],
    ["a bad --temperature", ["models", "chat", "kimi-k2.5", "hi", "--temperature", "9"], 2, /invalid value "9" for --temperature/],
    ["embed without text", ["models", "embed", "jina-embeddings-v4"], 2, /nothing to embed/],
    ["a bad --encoding-format", ["models", "embed", "jina-embeddings-v4", "x", "--encoding-format", "hex"], 2, /invalid value "hex" for --encoding-format/],
    ["infer with bad JSON", ["models", "infer", "kimi-k2.5", "-p", "{x}"], 2, /--payload is not valid JSON/],
    ["chat without a token", ["models", "chat", "kimi-k2.5", "hi"], 3, /token/],
    ["rerank without documents", ["models", "rerank", "bge-reranker-v2", "q"], 2, /nothing to rank/],
    ["rerank with both document sources", ["models", "rerank", "bge-reranker-v2", "q", "--document", "a", "--documents-file", "docs.txt"], 2, /give --document or --documents-file, not both/],
    ["rerank with an unreadable --documents-file", ["models", "rerank", "bge-reranker-v2", "q", "--documents-file", "missing.txt"], 2, /--documents-file .*missing\.txt cannot be read: ENOENT/],
    ["a bad --top-n", ["models", "rerank", "bge-reranker-v2", "q", "--document", "a", "--top-n", "0"], 2, /invalid value "0" for --top-n/],
    ["rerank with an unknown model", ["models", "rerank", "gpt-nope", "q", "--document", "a"], 5, /gpt-nope/],
    ["transcribe without audio", ["models", "transcribe", "whisper-large-v3", "missing.wav"], 2, /audio file .*missing\.wav cannot be read: ENOENT/],
    ["transcribe of an empty file", ["models", "transcribe", "whisper-large-v3", "empty.wav"], 2, /audio file .*empty\.wav is empty/],
    ["transcribe of audio over 25 MiB", ["models", "transcribe", "whisper-large-v3", "huge.wav"], 7, /is 26214401 bytes; transcription takes at most 26214400/],
    ["a bad --response-format", ["models", "transcribe", "whisper-large-v3", "talk.wav", "--response-format", "docx"], 2, /invalid value "docx" for --response-format: use json, text, srt, vtt, verbose_json/],
    ["a bad --language", ["models", "transcribe", "whisper-large-v3", "talk.wav", "--language", "english!"], 2, /invalid value "english!" for --language/],
  ])("rejects %s", async (name, argv, code, message) => {
    const result = await cli(argv, name === "chat without a token" ? { IGNITE_TOKEN: "not-a-token" } : {});
    expect(result.exitCode).toBe(code);
    expect(withoutTraces(result.stderr)[0]).toMatch(message);
  });
});
