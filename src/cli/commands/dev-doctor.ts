import { defineCommand } from "../command-spec.js";

/** `dodil ignite dev doctor`: what each driver of the local control plane found, and why one is unusable. */
export const devDoctorCommand = defineCommand({
  name: "doctor",
  summary: "Report which local control plane drivers and managed runtimes work here, and why not",
  examples: ["dodil ignite dev doctor", "dodil ignite dev doctor -o json"],
  async handler(_args, _options, ctx) {
    const { doctor } = await import("../../local/drivers/detect.js");
    const report = await doctor();
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
          { driver: "pip mirror", usable: "", found: report.pipMirror.indexUrl || "none", why: report.pipMirror.mounts.join(", ") },
          ...report.runtimes.map((r) => ({
            driver: `${r.runtime} runtime`,
            usable: r.version ? "yes" : "no",
            found: r.version || "-",
            why: r.version ? `compiles ${r.runtime} apps with ${r.tool}` : `not installed: ${r.tool} (fix: ${r.fix})`,
          })),
        ],
      },
    };
  },
});
