import { resolve } from "node:path";
import { defineCommand, opt } from "../../command-spec.js";
import { loadDeps } from "../../load-deps.js";

export const modelsRerankCommand = defineCommand({
  name: "rerank",
  summary: "Rank documents by relevance to a query (Rerank; --stream for StreamRerank)",
  description:
    "Call Rerank with the query and the documents (--document, repeatable, or --documents-file with one per line; - reads stdin) and print the results, most relevant first. " +
    "--stream calls StreamRerank and prints each partial ranking as it arrives (one JSON object per line under -o json). " +
    "The local control plane has no local models: it answers UNIMPLEMENTED (exit 1).",
  args: [
    { name: "model", description: "model id, e.g. bge-reranker-v2" },
    { name: "query", description: "what the documents are ranked against" },
  ],
  options: [
    { flags: "--document <text>", description: "a document to rank (repeatable)", repeatable: true },
    { flags: "--documents-file <path>", description: "rank each non-empty line of this file (- reads stdin)" },
    { flags: "--top-n <n>", description: "return only the n most relevant (default: all)", valueType: "integer" },
    { flags: "--return-documents", description: "include each document's text in the results" },
    { flags: "--stream", description: "stream partial rankings (StreamRerank)" },
  ],
  examples: [
    'dodil ignite models rerank bge-reranker-v2 "how do I deploy?" --document "Run draft publish." --document "Cats sleep a lot."',
    'dodil ignite models rerank bge-reranker-v2 "refunds" --documents-file faq.txt --top-n 3 -o json | jq -r ".results[].index"',
  ],
  async handler([model = "", query = ""], options, ctx) {
    const { RerankResponseSchema, checkModelId, parseNumberFlag, protoJson, rerank, rerankDocuments, streamRerank } = await loadDeps.models();
    const documentsFile = opt.string(options, "documentsFile");
    const input = {
      model: checkModelId(model),
      query,
      documents: await rerankDocuments(opt.list(options, "document"), documentsFile === undefined || documentsFile === "-" ? documentsFile : resolve(ctx.cwd, documentsFile), ctx.readStdin),
      topN: parseNumberFlag(opt.string(options, "topN"), "--top-n", { min: 1, max: 10_000, integer: true }),
      returnDocuments: opt.flag(options, "returnDocuments"),
    };
    const api = await ctx.api();
    const { output } = ctx;
    const table = (response: Awaited<ReturnType<typeof rerank>>) => ({
      kind: "table" as const,
      columns: [
        { key: "rank", header: "RANK" },
        { key: "index", header: "INDEX" },
        { key: "score", header: "SCORE" },
        { key: "document", header: "DOCUMENT" },
      ],
      rows: [...response.results]
        .sort((a, b) => b.relevanceScore - a.relevanceScore)
        .map((r, i) => ({ rank: String(i + 1), index: String(r.index), score: r.relevanceScore.toFixed(4), document: r.document || input.documents[r.index] || "" })),
    });
    if (opt.flag(options, "stream")) {
      let last: Awaited<ReturnType<typeof rerank>> | undefined;
      for await (const part of streamRerank(api, input)) {
        last = part;
        if (output.isMachine) output.jsonLine(protoJson(RerankResponseSchema, part));
      }
      if (output.isMachine || !last) return;
      return { data: protoJson(RerankResponseSchema, last), human: table(last) };
    }
    const response = await rerank(api, input);
    return { data: protoJson(RerankResponseSchema, response), human: table(response) };
  },
});
