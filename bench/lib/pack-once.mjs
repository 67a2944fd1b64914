// Packs a directory once with packBuildContext from dist/ (what `draft save --dry-run`
// runs) and prints {digest, archive_bytes, file_count, total_bytes} as JSON.
// Usage: node bench/lib/pack-once.mjs <dir> [gzipConcurrency]
import { packBuildContext } from "../../dist/build-context/index.js";

const [dir, concurrency] = process.argv.slice(2);
const packed = await packBuildContext(dir, {
  dockerfilePath: "Dockerfile",
  ...(concurrency ? { gzipConcurrency: Number(concurrency) } : {}),
});
try {
  process.stdout.write(
    `${JSON.stringify({ digest: packed.digest, archive_bytes: packed.archiveBytes, file_count: packed.fileCount, total_bytes: packed.totalBytes })}\n`,
  );
} finally {
  await packed.cleanup();
}
