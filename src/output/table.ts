import type { ChalkInstance } from "chalk";

export interface Column {
  key: string;
  header: string;
}

/** Aligned columns separated by two spaces; no box drawing, so pipes and files stay plain. */
export function formatTable(columns: Column[], rows: Array<Record<string, string>>, theme: ChalkInstance): string {
  const widths = columns.map((c) => Math.max(c.header.length, ...rows.map((r) => displayWidth(r[c.key] ?? ""))));
  const pad = (text: string, index: number) => (index === columns.length - 1 ? text : text + " ".repeat((widths[index] ?? 0) - displayWidth(text)));
  const header = columns.map((c, i) => theme.bold(pad(c.header, i))).join("  ");
  const body = rows.map((r) => columns.map((c, i) => pad(r[c.key] ?? "", i)).join("  "));
  return [header, ...body].map((line) => line.trimEnd()).join("\n") + "\n";
}

/** "KEY  value" lines for one object. */
export function formatRecord(fields: Array<[string, string]>, theme: ChalkInstance): string {
  const width = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${theme.bold(k.padEnd(width))}  ${v}`.trimEnd()).join("\n") + "\n";
}

function displayWidth(text: string): number {
  return [...text].length;
}
