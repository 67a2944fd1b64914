import { describe, expect, it } from "vitest";
import { parseAppRef } from "../../src/core/app-ref.js";
import { UsageError } from "../../src/errors.js";

describe("parseAppRef", () => {
  it.each([
    ["acme-corp:greeter", undefined, { org: "acme-corp", name: "greeter" }],
    ["acme-corp/greeter", undefined, { org: "acme-corp", name: "greeter" }],
    ["greeter", "acme-corp", { org: "acme-corp", name: "greeter" }],
    ["greeter", undefined, { org: undefined, name: "greeter" }],
    ["other:greeter", "acme-corp", { org: "other", name: "greeter" }],
  ])("%s (default org %s)", (text, org, expected) => {
    expect(parseAppRef(text, org)).toEqual(expected);
  });

  it.each(["", ":greeter", "acme:", "a:b:c", "Greeter", "acme corp:greeter", "9lives", "greeter_1", "a/b/c", "x".repeat(64)])("rejects %j", (text) => {
    expect(() => parseAppRef(text, "acme")).toThrow(UsageError);
  });
});
