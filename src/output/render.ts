import type { ChalkInstance } from "chalk";
import type { OutputFormat } from "../config/config-keys.js";
import { formatRecord, formatTable, type Column } from "./table.js";

/**
 * What a command hands back to be printed. `data` is the machine form (protobuf JSON with proto
 * field names), printed as is under json/yaml; the human form is a table, a record or text.
 */
export interface ResultView {
  data: unknown;
  human?: HumanView;
}

export type HumanView =
  | { kind: "table"; columns: Column[]; wideColumns?: Column[]; rows: Array<Record<string, string>>; empty?: string }
  | { kind: "record"; fields: Array<[string, string]>; wideFields?: Array<[string, string]> }
  | { kind: "text"; text: string };

/** Renders a result; `toYaml` is the yaml module's stringify, which only yaml output loads. */
export function renderResult(view: ResultView, format: OutputFormat, theme: ChalkInstance, toYaml?: (value: unknown) => string): string {
  if (format === "json") return JSON.stringify(view.data, null, 2) + "\n";
  if (format === "yaml") {
    if (!toYaml) throw new Error("renderResult: yaml output without the yaml module");
    return toYaml(view.data ?? null);
  }
  const human = view.human ?? { kind: "text", text: JSON.stringify(view.data, null, 2) };
  const wide = format === "wide";
  switch (human.kind) {
    case "table":
      if (human.rows.length === 0 && human.empty) return human.empty + "\n";
      return formatTable(wide ? [...human.columns, ...(human.wideColumns ?? [])] : human.columns, human.rows, theme);
    case "record":
      return formatRecord(wide ? [...human.fields, ...(human.wideFields ?? [])] : human.fields, theme);
    case "text":
      return human.text.endsWith("\n") || human.text === "" ? human.text : human.text + "\n";
  }
}
