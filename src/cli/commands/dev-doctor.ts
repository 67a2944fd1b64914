import { formatBytes } from "../../output/format-bytes.js";
import { defineCommand, opt } from "../command-spec.js";
import { devDataDir } from "./dev-data-dir.js";

/** `dodil ignite dev doctor`: what each driver of the local control plane found, and why one is unusable. */
export const devDoctorCommand = defineCommand({
  name: "doctor",
  summary: "Report which local control plane drivers and managed runtimes work here, and why not",
  description:
    "Also reports on the data directory (--data-dir, as for `dev`): the disk each kind of state uses, and the state files in quarantine (records a plane found unusable and moved aside, with why).",
  options: [{ flags: "--data-dir <dir>", description: "the data directory to report on (default ~/.local/share/dodil/ignite-dev)" }],
  examples: ["dodil ignite dev doctor", "dodil ignite dev doctor -o json", "dodil ignite dev doctor --data-dir ./.ignite"],
  async handler(_args, options, ctx) {
    const [{ doctor }, { dataDirReport }] = await Promise.all([import("../../local/doctor.js"), import("../../local/store/data-dir-report.js")]);
    const [drivers, dataDir] = await Promise.all([doctor(), dataDirReport(devDataDir(opt.string(options, "dataDir"), ctx))]);
    const report = { ...drivers, dataDir };
    const images = report.imageCache.images.map((i) => `${i.ref}${i.present ? "" : " (missing)"}`).join(", ");
    return {
      data: report,
      human: {
        kind: "table",
        empty: "",
        columns: [
          { key: "driver", header: "DRIVER" },
          { key: "usable", header: "USABLE" },
          { key: "found", header: "FOUND" },
          { key: "why", header: "WHY" },
        ],
        rows: [
          ...report.drivers.map((d) => ({
            driver: d.name + (report.auto === d.name ? " (auto)" : ""),
            usable: d.usable ? "yes" : "no",
            found: Object.entries(d.found).map(([k, v]) => `${k} ${v}`).join(", ") || "-",
            why: d.why + (d.fix ? ` (fix: ${d.fix})` : ""),
          })),
          { driver: "base images", usable: "", found: report.imageCache.dir, why: images || "none (run `dodil ignite dev setup`)" },
          {
            driver: "image registry",
            usable: report.registry.binary ? "yes" : "no",
            found: report.registry.binary || "-",
            why: report.registry.why + (report.registry.fix ? ` (fix: ${report.registry.fix})` : ""),
          },
          { driver: "pip mirror", usable: "", found: report.pipMirror.indexUrl || "none", why: report.pipMirror.mounts.join(", ") },
          ...report.runtimes.map((r) => ({
            driver: `${r.runtime} runtime`,
            usable: r.version ? "yes" : "no",
            found: r.version || "-",
            why: r.version ? `compiles ${r.runtime} apps with ${r.tool}` : `not installed: ${r.tool} (fix: ${r.fix})`,
          })),
          {
            driver: "data dir",
            usable: "",
            found: dataDir.dataDir,
            why: dataDir.exists ? `${formatBytes(dataDir.totalBytes)} in all, ${dataDir.quarantined.length} file(s) in quarantine` : "does not exist yet",
          },
          ...dataDir.usage.map((u) => ({ driver: `  ${u.kind}`, usable: "", found: formatBytes(u.bytes), why: u.what })),
          ...dataDir.quarantined.map((q) => ({ driver: "quarantined", usable: "", found: q.path, why: `${q.reason} (kept as ${q.movedTo})` })),
        ],
      },
    };
  },
});
