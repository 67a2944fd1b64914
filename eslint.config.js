// Lint checks the structure the type checker cannot (docs/architecture.md): no import cycle,
// imports only downwards between layers, and files and functions of a readable size. It runs
// without type information (the parser only), so it stays fast.
import tseslint from "typescript-eslint";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";

/** The support modules of src/local: named for what they hold, they import no room. */
const LOCAL_SUPPORT = ["./errors.ts", "./atomic-fs.ts", "./ids.ts", "./keyed-mutex.ts", "./net.ts"];

export default tseslint.config(
  // The Deno SDK is Deno code, checked by deno lint (scripts/check-runtime-sources.sh).
  { ignores: ["dist/**", "node_modules/**", "src/gen/**", "coverage/**", "src/local/managed-runtime/deno/sdk/**"] },
  {
    files: ["src/**/*.ts"],
    languageOptions: { parser: tseslint.parser },
    plugins: { "import-x": importX, "@typescript-eslint": tseslint.plugin },
    settings: {
      "import-x/extensions": [".ts", ".js"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createTypeScriptImportResolver({ project: "tsconfig.json" })],
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": [
        "error",
        {
          zones: [
            {
              target: "./src/local/drivers",
              from: "./src/local",
              except: ["./drivers", ...LOCAL_SUPPORT],
              message: "drivers are the bottom room of the control plane: they import only each other and the support modules",
            },
            {
              target: LOCAL_SUPPORT.map((f) => `./src/local/${f.slice(2)}`),
              from: "./src/local",
              except: LOCAL_SUPPORT,
              message: "support modules import no room",
            },
            { target: "./src/local", from: ["./src/cli", "./src/output", "./src/config"], message: "the control plane does not depend on the CLI" },
            { target: "./src/core", from: ["./src/cli", "./src/output"], message: "use cases return data; commands and output sit above them" },
          ],
        },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { args: "none", caughtErrors: "none", ignoreRestSiblings: true }],
      "max-lines": ["warn", { max: 400, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["warn", { max: 80, skipBlankLines: true, skipComments: true }],
      "max-params": ["warn", 4],
    },
  },
);
