// Tables ported from moby/patternmatcher (patternmatcher_test.go, ignorefile/ignorefile_test.go),
// Linux branch, plus cases for the points Docker users trip on.
import { describe, expect, it } from "vitest";
import {
  cleanPath,
  compilePattern,
  createIgnoreMatcher,
  DockerignoreError,
  goFilepathMatch,
  parseDockerignore,
} from "../../src/build-context/dockerignore.js";

const excludedBy = (patterns: string[], path: string): boolean => createIgnoreMatcher(patterns).matches(path).excluded;

describe("patternmatcher single-case tests", () => {
  it("TestWildcardMatches", () => expect(excludedBy(["*"], "fileutils.go")).toBe(true));
  it("TestPatternMatches", () => expect(excludedBy(["*.go"], "fileutils.go")).toBe(true));
  it("TestExclusionPatternMatchesPatternBefore", () =>
    expect(excludedBy(["!fileutils.go", "*.go"], "fileutils.go")).toBe(true));
  it("TestPatternMatchesFolderExclusions", () =>
    expect(excludedBy(["docs", "!docs/README.md"], "docs/README.md")).toBe(false));
  it("TestPatternMatchesFolderWithSlashExclusions", () =>
    expect(excludedBy(["docs/", "!docs/README.md"], "docs/README.md")).toBe(false));
  it("TestPatternMatchesFolderWildcardExclusions", () =>
    expect(excludedBy(["docs/*", "!docs/README.md"], "docs/README.md")).toBe(false));
  it("TestExclusionPatternMatchesPatternAfter", () =>
    expect(excludedBy(["*.go", "!fileutils.go"], "fileutils.go")).toBe(false));
  it("TestExclusionPatternMatchesWholeDirectory", () => expect(excludedBy(["*.go"], ".")).toBe(false));
  it("TestSingleExclamationError", () => expect(() => createIgnoreMatcher(["!"])).toThrow(DockerignoreError));
  it("TestMatchesWithNoPatterns", () => expect(excludedBy([], "/any/path/there")).toBe(false));
  it("TestMatchesWithMalformedPatterns", () => expect(() => createIgnoreMatcher(["["])).toThrow(DockerignoreError));
  it("TestCleanPatterns", () => expect(createIgnoreMatcher(["docs", "config"]).patterns).toHaveLength(2));
  it("TestCleanPatternsStripEmptyPatterns", () =>
    expect(createIgnoreMatcher(["docs", "config", ""]).patterns).toHaveLength(2));
  it("TestCleanPatternsExceptionFlag", () =>
    expect(createIgnoreMatcher(["docs", "!docs/README.md"]).hasExclusions).toBe(true));
  it("TestCleanPatternsLeadingSpaceTrimmed", () =>
    expect(createIgnoreMatcher(["docs", "  !docs/README.md"]).hasExclusions).toBe(true));
  it("TestCleanPatternsTrailingSpaceTrimmed", () =>
    expect(createIgnoreMatcher(["docs", "!docs/README.md  "]).hasExclusions).toBe(true));
  it("TestCleanPatternsErrorSingleException", () => expect(() => createIgnoreMatcher(["!"])).toThrow(/illegal exclusion/));
  it("regression moby/moby#52203: a pattern that passes glob validation but not regexp compilation is an error", () =>
    expect(() => createIgnoreMatcher(["[Local-Only]/"])).toThrow(DockerignoreError));
});

type Pass = "fail" | "exact" | "inexact";
// TestMatches: [pattern, text, pass]
const matchesTable: Array<[string, string, Pass]> = [
  ["**", "file", "exact"],
  ["**", "file/", "exact"],
  ["**/", "file", "exact"],
  ["**/", "file/", "exact"],
  ["**", "/", "exact"],
  ["**/", "/", "exact"],
  ["**", "dir/file", "exact"],
  ["**/", "dir/file", "exact"],
  ["**", "dir/file/", "exact"],
  ["**/", "dir/file/", "exact"],
  ["**/**", "dir/file", "exact"],
  ["**/**", "dir/file/", "exact"],
  ["dir/**", "dir/file", "exact"],
  ["dir/**", "dir/file/", "exact"],
  ["dir/**", "dir/dir2/file", "exact"],
  ["dir/**", "dir/dir2/file/", "exact"],
  ["**/dir", "dir", "exact"],
  ["**/dir", "dir/file", "inexact"],
  ["**/dir2/*", "dir/dir2/file", "exact"],
  ["**/dir2/*", "dir/dir2/file/", "inexact"],
  ["**/dir2/**", "dir/dir2/dir3/file", "exact"],
  ["**/dir2/**", "dir/dir2/dir3/file/", "exact"],
  ["**file", "file", "exact"],
  ["**file", "dir/file", "exact"],
  ["**/file", "dir/file", "exact"],
  ["**file", "dir/dir/file", "exact"],
  ["**/file", "dir/dir/file", "exact"],
  ["**/file*", "dir/dir/file", "exact"],
  ["**/file*", "dir/dir/file.txt", "exact"],
  ["**/file*txt", "dir/dir/file.txt", "exact"],
  ["**/file*.txt", "dir/dir/file.txt", "exact"],
  ["**/file*.txt*", "dir/dir/file.txt", "exact"],
  ["**/**/*.txt", "dir/dir/file.txt", "exact"],
  ["**/**/*.txt2", "dir/dir/file.txt", "fail"],
  ["**/*.txt", "file.txt", "exact"],
  ["**/**/*.txt", "file.txt", "exact"],
  ["a**/*.txt", "a/file.txt", "exact"],
  ["a**/*.txt", "a/dir/file.txt", "exact"],
  ["a**/*.txt", "a/dir/dir/file.txt", "exact"],
  ["a/*.txt", "a/dir/file.txt", "fail"],
  ["a/*.txt", "a/file.txt", "exact"],
  ["a/*.txt**", "a/file.txt", "exact"],
  ["a[b-d]e", "ae", "fail"],
  ["a[b-d]e", "ace", "exact"],
  ["a[b-d]e", "aae", "fail"],
  ["a[^b-d]e", "aze", "exact"],
  [".*", ".foo", "exact"],
  [".*", "foo", "fail"],
  ["abc.def", "abcdef", "fail"],
  ["abc.def", "abc.def", "exact"],
  ["abc.def", "abcZdef", "fail"],
  ["abc?def", "abcZdef", "exact"],
  ["abc?def", "abcdef", "fail"],
  ["**/foo/bar", "foo/bar", "exact"],
  ["**/foo/bar", "dir/foo/bar", "exact"],
  ["**/foo/bar", "dir/dir2/foo/bar", "exact"],
  ["abc/**", "abc", "fail"],
  ["abc/**", "abc/def", "exact"],
  ["abc/**", "abc/def/ghi", "exact"],
  ["**/.foo", ".foo", "exact"],
  ["**/.foo", "bar.foo", "fail"],
  ["a(b)c/def", "a(b)c/def", "exact"],
  ["a(b)c/def", "a(b)c/xyz", "fail"],
  ["a.|)$(}+{bc", "a.|)$(}+{bc", "exact"],
  [
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    "exact",
  ],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "exact"],
  // non-Windows additions
  ["a\\\\", "a\\", "exact"],
  ["a\\*b", "a*b", "exact"],
];

const multiPatternTable: Array<[string[], string, Pass]> = [
  [["**", "!util/docker/web"], "util/docker/web/foo", "fail"],
  [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", "exact"],
  [
    ["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    "fail",
  ],
  [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "fail"],
];

describe("TestMatches/MatchesExact", () => {
  it.each(matchesTable)("pattern %j text %j -> %s", (pattern, text, pass) => {
    expect(createIgnoreMatcher([pattern]).matchesExact(text)).toBe(pass === "exact");
  });
});

describe("TestMatches/MatchesOrParentMatches", () => {
  it.each(matchesTable)("pattern %j text %j -> %s", (pattern, text, pass) => {
    expect(createIgnoreMatcher([pattern]).matches(text).excluded).toBe(pass !== "fail");
  });
  it.each(multiPatternTable)("patterns %j text %j -> %s", (patterns, text, pass) => {
    expect(createIgnoreMatcher(patterns).matches(text).excluded).toBe(pass !== "fail");
  });
});

// TestMatch: Go's filepath.Match table as run through patternmatcher ([pattern, name, match, badPattern]).
const filepathMatchTable: Array<[string, string, boolean, boolean]> = [
  ["abc", "abc", true, false],
  ["*", "abc", true, false],
  ["*c", "abc", true, false],
  ["a*", "a", true, false],
  ["a*", "abc", true, false],
  ["a*", "ab/c", true, false],
  ["a*/b", "abc/b", true, false],
  ["a*/b", "a/c/b", false, false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true, false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false],
  ["a*b?c*x", "abxbbxdbxebxczzx", true, false],
  ["a*b?c*x", "abxbbxdbxebxczzy", false, false],
  ["ab[c]", "abc", true, false],
  ["ab[b-d]", "abc", true, false],
  ["ab[e-g]", "abc", false, false],
  ["ab[^c]", "abc", false, false],
  ["ab[^b-d]", "abc", false, false],
  ["ab[^e-g]", "abc", true, false],
  ["a\\*b", "a*b", true, false],
  ["a\\*b", "ab", false, false],
  ["a?b", "a☺b", true, false],
  ["a[^a]b", "a☺b", true, false],
  ["a???b", "a☺b", false, false],
  ["a[^a][^a][^a]b", "a☺b", false, false],
  ["[a-ζ]*", "α", true, false],
  ["*[a-ζ]", "A", false, false],
  ["a?b", "a/b", false, false],
  ["a*b", "a/b", false, false],
  ["[\\]a]", "]", true, false],
  ["[\\-]", "-", true, false],
  ["[x\\-]", "x", true, false],
  ["[x\\-]", "-", true, false],
  ["[x\\-]", "z", false, false],
  ["[\\-x]", "x", true, false],
  ["[\\-x]", "-", true, false],
  ["[\\-x]", "a", false, false],
  ["[]a]", "]", false, true],
  ["[-]", "-", false, true],
  ["[x-]", "x", false, true],
  ["[x-]", "-", false, true],
  ["[x-]", "z", false, true],
  ["[-x]", "x", false, true],
  ["[-x]", "-", false, true],
  ["[-x]", "a", false, true],
  ["\\", "a", false, true],
  ["[a-b-c]", "a", false, true],
  ["[", "a", false, true],
  ["[^", "a", false, true],
  ["[^bc", "a", false, true],
  ["a[", "a", false, true],
  ["a[", "ab", false, true],
  ["*x", "xxx", true, false],
];

describe("TestMatch (filepath.Match table through the matcher)", () => {
  it.each(filepathMatchTable)("pattern %j name %j -> match %s, bad %s", (pattern, name, match, bad) => {
    if (bad) {
      expect(() => createIgnoreMatcher([pattern])).toThrow(DockerignoreError);
    } else {
      expect(createIgnoreMatcher([pattern]).matches(name).excluded).toBe(match);
    }
  });
  it.each(filepathMatchTable)("goFilepathMatch(%j, %j): bad pattern = %s", (pattern, name, _match, bad) => {
    // The validation step of patternmatcher.New is filepath.Match(pattern, ".").
    if (bad) expect(() => goFilepathMatch(pattern, ".")).toThrow();
    else expect(() => goFilepathMatch(pattern, name)).not.toThrow();
  });
  it("goFilepathMatch is Go's filepath.Match (no parent matching)", () => {
    expect(goFilepathMatch("a*", "ab/c")).toBe(false);
    expect(goFilepathMatch("a*/b", "abc/b")).toBe(true);
    expect(goFilepathMatch("a*b?c*x", "abxbbxdbxebxczzx")).toBe(true);
    expect(goFilepathMatch("[a-ζ]*", "α")).toBe(true);
  });
});

// TestCompile (slash variant): [pattern, matchType, compiled regexp]
const compileTable: Array<[string, string, string]> = [
  ["*", "regexp", "^[^/]*$"],
  ["file*", "regexp", "^file[^/]*$"],
  ["*file", "regexp", "^[^/]*file$"],
  ["a*/b", "regexp", "^a[^/]*/b$"],
  ["**", "suffix", ""],
  ["**/**", "regexp", "^(.*/)?.*$"],
  ["dir/**", "prefix", ""],
  ["**/dir", "suffix", ""],
  ["**/dir2/*", "regexp", "^(.*/)?dir2/[^/]*$"],
  ["**/dir2/**", "regexp", "^(.*/)?dir2/.*$"],
  ["**file", "suffix", ""],
  ["**/file*txt", "regexp", "^(.*/)?file[^/]*txt$"],
  ["**/**/*.txt", "regexp", "^(.*/)?(.*/)?[^/]*\\.txt$"],
  ["a[b-d]e", "regexp", "^a[b-d]e$"],
  [".*", "regexp", "^\\.[^/]*$"],
  ["abc.def", "exact", ""],
  ["abc?def", "regexp", "^abc[^/]def$"],
  ["**/foo/bar", "suffix", ""],
  ["a(b)c/def", "exact", ""],
  ["a.|)$(}+{bc", "exact", ""],
  ["dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "exact", ""],
];

describe("TestCompile", () => {
  it.each(compileTable)("%j compiles to %s %j", (pattern, type, re) => {
    const compiled = compilePattern(cleanPath(pattern));
    expect(compiled.matchType).toBe(type);
    if (type === "regexp") expect(compiled.goRegexp).toBe(re);
  });
});

describe("ignorefile.ReadAll", () => {
  it("TestReadAll", () => {
    const content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    const parsed = parseDockerignore(content);
    expect(parsed.map((p) => (p.negated ? "!" : "") + p.pattern)).toEqual([
      "test1",
      "test2",
      "a/file/here",
      "lastfile",
      "!inverted/abs/path",
      "!",
      "!",
    ]);
    expect(parsed.map((p) => p.line)).toEqual([1, 2, 3, 5, 7, 8, 9]);
    expect(() => createIgnoreMatcher(parsed)).toThrow(/line|illegal exclusion/);
  });
  it("drops a UTF-8 BOM and CRLF line ends; # is a comment only in column one", () => {
    const parsed = parseDockerignore("\ufeff*.log\r\n  # not a comment\r\n#comment\r\n\tbuild/ \r\n");
    expect(parsed.map((p) => p.pattern)).toEqual(["*.log", "# not a comment", "build"]);
  });
  it("cleans ./a, a/, /a and a/../b", () => {
    expect(parseDockerignore("./a\nb/\n/c\nd/../e\n//f//g/\n/\n").map((p) => p.pattern)).toEqual([
      "a",
      "b",
      "c",
      "e",
      "f/g",
      "/",
    ]);
  });
  it("keeps .. patterns that climb out of the context (they match nothing)", () => {
    const parsed = parseDockerignore("../secret\n/../x\n");
    expect(parsed.map((p) => p.pattern)).toEqual(["../secret", "x"]);
    const m = createIgnoreMatcher(parsed);
    expect(m.matches("secret").excluded).toBe(false);
    expect(m.matches("x").excluded).toBe(true);
  });
  it("reports the file and line of a bad pattern", () => {
    const parsed = parseDockerignore("ok\n[z-a]\n", "app/.dockerignore");
    expect(() => createIgnoreMatcher(parsed)).toThrow(/app\/\.dockerignore:2/);
  });
});

describe("tricky cases", () => {
  const m = (text: string) => createIgnoreMatcher(parseDockerignore(text, ".dockerignore"));

  it("! after a directory exclude re-includes a file inside it, last match wins", () => {
    const matcher = m("docs\n!docs/keep.md\n");
    expect(matcher.matches("docs").excluded).toBe(true);
    expect(matcher.matches("docs/a.md").excluded).toBe(true);
    expect(matcher.matches("docs/keep.md")).toMatchObject({ excluded: false, rule: "!docs/keep.md" });
    const later = m("!docs/keep.md\ndocs\n");
    expect(later.matches("docs/keep.md")).toMatchObject({ excluded: true, rule: "docs" });
  });

  it("reports the deciding rule with its line", () => {
    const r = m("# c\n*.log\n!important.log\n").matches("sub/x.log");
    expect(r.excluded).toBe(false); // *.log does not cross /
    const r2 = m("# c\n**/*.log\n").matches("sub/x.log");
    expect(r2).toMatchObject({ excluded: true, rule: "**/*.log", pattern: { line: 2, source: ".dockerignore" } });
  });

  it("* does not cross /, ** crosses any number of directories", () => {
    const matcher = m("*/temp*\n**/*.pyc\na/**/b\n");
    expect(matcher.matches("x/temporary").excluded).toBe(true);
    expect(matcher.matches("x/y/temporary").excluded).toBe(false);
    expect(matcher.matches("deep/er/mod.pyc").excluded).toBe(true);
    expect(matcher.matches("mod.pyc").excluded).toBe(true);
    expect(matcher.matches("a/b").excluded).toBe(true);
    expect(matcher.matches("a/x/y/b").excluded).toBe(true);
    expect(matcher.matches("a/x/y/c").excluded).toBe(false);
  });

  it("leading / is ignored: /foo only matches foo at the root", () => {
    const matcher = m("/foo\n");
    expect(matcher.matches("foo").excluded).toBe(true);
    expect(matcher.matches("foo/bar").excluded).toBe(true);
    expect(matcher.matches("x/foo").excluded).toBe(false);
  });

  it("a trailing / does not restrict to directories (Docker cleans it away)", () => {
    expect(m("build/\n").matches("build", false).excluded).toBe(true);
  });

  it("escaped characters match literally", () => {
    const matcher = m("\\#notcomment\nstar\\*\nq\\?\nbr\\[x\\]\n");
    expect(matcher.matches("#notcomment").excluded).toBe(true);
    expect(matcher.matches("star*").excluded).toBe(true);
    expect(matcher.matches("starx").excluded).toBe(false);
    expect(matcher.matches("q?").excluded).toBe(true);
    expect(matcher.matches("qx").excluded).toBe(false);
    expect(matcher.matches("br[x]").excluded).toBe(true);
    expect(matcher.matches("brx").excluded).toBe(false);
  });

  it.each([
    ["a+b", "a+b", "aab"],
    ["(x)", "(x)", "x"],
    ["price$", "price$", "price"],
    ["a.b", "a.b", "axb"],
    ["{a,b}", "{a,b}", "a"],
    ["x|y", "x|y", "x"],
    ["*.(x)+", "file.(x)+", "file.xx"],
    ["c++/*.o", "c++/a.o", "cc/a.o"],
  ])("regexp metacharacters are literal: %j matches %j, not %j", (pattern, yes, no) => {
    const matcher = createIgnoreMatcher([pattern]);
    expect(matcher.matches(yes).excluded).toBe(true);
    expect(matcher.matches(no).excluded).toBe(false);
  });

  it("is case-sensitive", () => {
    const matcher = m("README.md\n*.LOG\n[A-C]x\n");
    expect(matcher.matches("readme.md").excluded).toBe(false);
    expect(matcher.matches("README.md").excluded).toBe(true);
    expect(matcher.matches("a.log").excluded).toBe(false);
    expect(matcher.matches("a.LOG").excluded).toBe(true);
    expect(matcher.matches("bx").excluded).toBe(false);
    expect(matcher.matches("Bx").excluded).toBe(true);
  });

  it("character classes: ranges, negation, escaped ]", () => {
    const matcher = createIgnoreMatcher(["file[0-9].txt", "x[!a]y", "z[^a]z"]);
    expect(matcher.matches("file7.txt").excluded).toBe(true);
    expect(matcher.matches("filex.txt").excluded).toBe(false);
    // `!` is not a negation in a Go class: [!a] is "! or a"
    expect(matcher.matches("x!y").excluded).toBe(true);
    expect(matcher.matches("xby").excluded).toBe(false);
    expect(matcher.matches("zbz").excluded).toBe(true);
    expect(matcher.matches("zaz").excluded).toBe(false);
  });

  it("reproduces patternmatcher's regexp quirk for a wildcard inside a class", () => {
    // "[*]" compiles to ^[[^/]*]$ in Go: the class [[^/] repeated, then a literal ].
    const matcher = createIgnoreMatcher(["[*]"]);
    expect(matcher.matches("]").excluded).toBe(true);
    expect(matcher.matches("[[]").excluded).toBe(true);
    expect(matcher.matches("*").excluded).toBe(false);
  });

  it("POSIX classes inside a class follow Go regexp", () => {
    const matcher = createIgnoreMatcher(["x[[:digit:]]"]);
    expect(matcher.matches("x5").excluded).toBe(true);
    expect(matcher.matches("xa").excluded).toBe(false);
  });

  it("canSkipExcludedDir only when no ! pattern could re-include something below", () => {
    expect(m("node\n").canSkipExcludedDir("node")).toBe(true);
    expect(m("docs\n!docs/keep.md\n").canSkipExcludedDir("docs")).toBe(false);
    expect(m("docs\n!other/keep.md\n").canSkipExcludedDir("docs")).toBe(true);
    expect(m("docs\n!**/keep.md\n").canSkipExcludedDir("docs")).toBe(false);
    expect(m("docs\n!docs2/x\n").canSkipExcludedDir("docs")).toBe(true);
  });

  it("a parent-directory match counts (MatchesOrParentMatches)", () => {
    const matcher = createIgnoreMatcher(["a/b", "!a"]);
    // MatchesOrParentMatches: "!a" matches a/b via its parent a, so a/b is re-included.
    expect(matcher.matches("a/b/c").excluded).toBe(false);
    expect(createIgnoreMatcher(["*/b"]).matches("x/b/c/d").excluded).toBe(true);
  });
});
