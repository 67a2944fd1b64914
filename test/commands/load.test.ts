import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcIgniteApi } from "../../src/api/grpc-ignite-api.js";
import { createApp } from "../../src/core/apps.js";
import type { DraftSource } from "../../src/core/draft-source.js";
import { publishDraft } from "../../src/core/draft-runs.js";
import { saveDraft } from "../../src/core/drafts.js";
import { invokeApp } from "../../src/core/invoke.js";
import { prepareArchive } from "../../src/core/prepare-archive.js";
import { ACME_TOKEN, removeDir, startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

/** The reduced form of bench/load.mjs that CI runs: no call that should succeed may fail. */
const INVOKES = 100;
const SAVES = 5;

let cp: TestControlPlane;
let work: string;
let api: GrpcIgniteApi;

const directory = (path: string): DraftSource => ({ kind: "directory", path, dockerfilePath: "Dockerfile", buildArgs: {}, runtime: undefined });

async function save(name: string, path: string) {
  const archive = await prepareArchive(directory(path) as Extract<DraftSource, { kind: "directory" }>);
  try {
    return await saveDraft(api, { org: "acme-corp", name }, { source: directory(path), archive });
  } finally {
    await archive.cleanup();
  }
}

beforeAll(async () => {
  cp = await startTestControlPlane();
  work = mkdtempSync(join(tmpdir(), "ignite-load-"));
  api = new GrpcIgniteApi({ endpoint: cp.plane.grpcEndpoint, token: ACME_TOKEN, plaintext: true, timeoutMs: 120_000 });
  cpSync(join(import.meta.dirname, "..", "..", "examples", "greeter"), join(work, "app"), { recursive: true });
  await createApp(api, { org: "acme-corp", name: "greeter" }, {});
  await save("greeter", join(work, "app"));
  await publishDraft(api, { org: "acme-corp", name: "greeter" });
});

afterAll(async () => {
  api?.close();
  await cp?.stop();
  removeDir(cp?.dataDir ?? "");
  removeDir(work ?? "");
});

describe("load (reduced; bench/load.mjs has the full form)", () => {
  it(`${INVOKES} concurrent invokes all answer 200`, async () => {
    const statuses = await Promise.all(
      Array.from({ length: INVOKES }, async (_, i) => {
        let status = 0;
        for await (const event of invokeApp(api, { org: "acme-corp", name: "greeter" }, { body: Buffer.from(JSON.stringify({ name: `n${i}` })) })) {
          if (event.kind === "head") status = event.head.statusCode;
        }
        return status;
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it(`${SAVES} concurrent 5 MB draft saves all land complete`, async () => {
    const results = await Promise.all(
      Array.from({ length: SAVES }, async (_, i) => {
        const dir = join(work, `ctx${i}`);
        mkdirSync(dir);
        writeFileSync(join(dir, "Dockerfile"), 'FROM python:3.12-slim\nCOPY . /app\nUSER 65534\nCMD ["python", "/app/x.py"]\n');
        writeFileSync(join(dir, "blob.bin"), randomBytes(5 * 1024 * 1024));
        await createApp(api, { org: "acme-corp", name: `saver-${i}` }, {});
        return save(`saver-${i}`, dir);
      }),
    );
    for (const result of results) {
      expect(result.archive?.uploadedBytes).toBe(result.archive?.archiveBytes);
      expect(result.draft.codeHash).toBe(result.archive?.digest);
    }
  });
});
