/**
 * Hostile inputs for the fuzz campaign (test/e2e/fuzz.e2e.test.ts): raw bytes, malformed HTTP/1.1
 * requests, gRPC frames and protobuf messages generated from the service descriptors in src/gen,
 * and lying archives. fast-check draws the choices (so a failing seed replays); the byte-level
 * builders here turn them into what goes on the wire.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ScalarType, type DescField, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { gzipSync } from "node:zlib";
import { buildTar, buildZip } from "./hostile-archives.js";

/** Every service of every generated file under src/gen: a new RPC is fuzzed without editing the campaign. */
export async function generatedServices(): Promise<DescService[]> {
  const root = join(import.meta.dirname, "..", "..", "src", "gen");
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith("_pb.ts")).sort();
  const services: DescService[] = [];
  for (const file of files) {
    const mod = (await import(join(root, file))) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      if (value && typeof value === "object" && (value as { kind?: unknown }).kind === "service") services.push(value as DescService);
    }
  }
  return services;
}

/** A small deterministic PRNG (mulberry32), seeded by fast-check, for the recursive message builder. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NASTY_STRINGS = ["", "greeter", "acme-corp", "fuzz-org", "../../etc/passwd", "%zz", "%", "a b", "\u0000", "\r\n", "é", "\ud83d\ude00", "-", "A".repeat(300), "x".repeat(70_000)];

function randomString(r: () => number): string {
  const pick = r();
  if (pick < 0.5) return NASTY_STRINGS[Math.floor(r() * NASTY_STRINGS.length)]!;
  const n = Math.floor(r() * 40);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(r() < 0.8 ? 0x20 + Math.floor(r() * 95) : Math.floor(r() * 0xd7ff));
  return s;
}

function randomBytes(r: () => number, max = 256): Uint8Array {
  const out = new Uint8Array(Math.floor(r() * max));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(r() * 256);
  return out;
}

function randomInt(r: () => number): number {
  const choices = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), Math.floor(r() * 1000)];
  return choices[Math.floor(r() * choices.length)]!;
}

function writeScalar(w: BinaryWriter, no: number, t: ScalarType, r: () => number): void {
  switch (t) {
    case ScalarType.STRING:
      w.tag(no, WireType.LengthDelimited).string(randomString(r));
      break;
    case ScalarType.BYTES:
      w.tag(no, WireType.LengthDelimited).bytes(randomBytes(r));
      break;
    case ScalarType.BOOL:
      w.tag(no, WireType.Varint).bool(r() < 0.5);
      break;
    case ScalarType.DOUBLE:
      w.tag(no, WireType.Bit64).double(r() < 0.2 ? NaN : (r() - 0.5) * 1e300);
      break;
    case ScalarType.FLOAT:
      w.tag(no, WireType.Bit32).float(r() * 1e30);
      break;
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      w.tag(no, WireType.Bit32).fixed32(Math.floor(r() * 2 ** 32));
      break;
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      w.tag(no, WireType.Bit64).fixed64(BigInt.asUintN(64, BigInt(Math.floor(r() * 2 ** 53)) * (r() < 0.3 ? 4096n : 1n)));
      break;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
      w.tag(no, WireType.Varint).uint64(BigInt.asUintN(64, BigInt(randomInt(r)) * (r() < 0.3 ? 2n ** 40n : 1n)));
      break;
    default:
      w.tag(no, WireType.Varint).int32(randomInt(r));
  }
}

function writeField(w: BinaryWriter, f: DescField, r: () => number, depth: number): void {
  // Now and then the wrong wire type for the field: a wrong-type message.
  if (r() < 0.08) {
    w.tag(f.number, Math.floor(r() * 6) as WireType);
    w.raw(randomBytes(r, 16));
    return;
  }
  switch (f.fieldKind) {
    case "scalar":
      writeScalar(w, f.number, f.scalar, r);
      break;
    case "enum":
      w.tag(f.number, WireType.Varint).int32(randomInt(r));
      break;
    case "message":
      if (depth < 3) w.tag(f.number, WireType.LengthDelimited).bytes(randomMessage(f.message, r, depth + 1));
      break;
    case "list": {
      const n = Math.floor(r() * 4);
      for (let i = 0; i < n; i++) {
        if (f.listKind === "scalar") writeScalar(w, f.number, f.scalar, r);
        else if (f.listKind === "enum") w.tag(f.number, WireType.Varint).int32(randomInt(r));
        else if (depth < 3) w.tag(f.number, WireType.LengthDelimited).bytes(randomMessage(f.message, r, depth + 1));
      }
      break;
    }
    case "map": {
      const n = Math.floor(r() * 3);
      for (let i = 0; i < n; i++) {
        const entry = new BinaryWriter();
        writeScalar(entry, 1, f.mapKey, r);
        if (f.mapKind === "scalar") writeScalar(entry, 2, f.scalar, r);
        else if (f.mapKind === "enum") entry.tag(2, WireType.Varint).int32(randomInt(r));
        else if (depth < 3) entry.tag(2, WireType.LengthDelimited).bytes(randomMessage(f.message, r, depth + 1));
        w.tag(f.number, WireType.LengthDelimited).bytes(entry.finish());
      }
      break;
    }
  }
}

/** Protobuf bytes for `desc` with a random subset of its fields (oneof members may collide, types may lie). */
export function randomMessage(desc: DescMessage, r: () => number, depth = 0): Uint8Array {
  const w = new BinaryWriter();
  for (const f of desc.fields) if (r() < 0.6) writeField(w, f, r, depth);
  if (r() < 0.1) w.tag(1000 + Math.floor(r() * 1000), WireType.LengthDelimited).bytes(randomBytes(r, 32)); // unknown field
  return w.finish();
}

/** One gRPC request body (length-prefixed messages) as a hostile client could send it. */
export type GrpcFrameKind = "valid-random" | "truncated" | "wrong-type" | "random-bytes" | "lying-length" | "huge-length" | "compressed-flag" | "two-messages" | "empty-body" | "half-prefix";

export const GRPC_FRAME_KINDS: readonly GrpcFrameKind[] = ["valid-random", "truncated", "wrong-type", "random-bytes", "lying-length", "huge-length", "compressed-flag", "two-messages", "empty-body", "half-prefix"];

function frame(payload: Uint8Array, flag = 0, declared = payload.length): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(declared >>> 0, 1);
  return Buffer.concat([h, payload]);
}

export function grpcBody(kind: GrpcFrameKind, input: DescMessage, other: DescMessage, r: () => number): Buffer {
  const msg = randomMessage(input, r);
  switch (kind) {
    case "valid-random":
      return frame(msg);
    case "truncated":
      return frame(msg.subarray(0, Math.floor(r() * msg.length)));
    case "wrong-type":
      return frame(randomMessage(other, r));
    case "random-bytes":
      return frame(randomBytes(r, 512));
    case "lying-length":
      return frame(msg, 0, msg.length + 1 + Math.floor(r() * 100_000));
    case "huge-length":
      return frame(msg, 0, 0xffffffff);
    case "compressed-flag":
      return frame(msg, 1);
    case "two-messages":
      return Buffer.concat([frame(msg), frame(randomMessage(input, r))]);
    case "empty-body":
      return Buffer.alloc(0);
    case "half-prefix":
      return frame(msg).subarray(0, 3);
  }
}

/** Authorization values a hostile caller sends: none, garbage, Basic where Bearer belongs, tokens with spaces, `alg: none` JWTs. */
export function authorizationArb(validToken: string): fc.Arbitrary<string | undefined> {
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  const b64url = (s: string) => Buffer.from(s, "utf8").toString("base64url");
  return fc.oneof(
    fc.constant(undefined),
    fc.constant(`Bearer ${validToken}`),
    fc.constant("Bearer"),
    fc.constant("Bearer a b"),
    fc.constant(`Bearer ${validToken} extra`),
    fc.constant(`bearer\t${validToken}`),
    fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
    fc.tuple(fc.string(), fc.string()).map(([a, b]) => `Bearer ${b64url(a)}.${b64url(b)}.sig`),
    fc.constant(`Bearer ${b64url('{"alg":"none"}')}.${b64url('{"iss":"dodil-ignite-local","exp":99999999999,"organization":{"acme-corp":{}}}')}.`),
    fc.tuple(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 })).map(([a, b]) => `Basic ${b64(`${a}:${b}`)}`),
    fc.constantFrom("Basic %zz", `Basic ${b64("%zz:secret")}`, `Basic ${b64("sa:%E0%A4%A")}`, `Basic ${b64("%:%")}`, "Basic ====", "Basic", "Negotiate abc"),
    fc.string({ maxLength: 100 }),
  );
}

/** Header values HTTP/1.1 parsers disagree on (CR/LF, NUL, obs-fold, huge). */
const headerValueArb = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom("a\rb", "a\nb", "a\u0000b", " folded\r\n continued", "\u00ff\u00fe", "%zz"),
  fc.integer({ min: 1, max: 200 }).map((k) => "v".repeat(k * 512)),
);

export interface HttpSpec {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  body: Uint8Array;
  chunked: "no" | "valid" | "bad-size" | "no-terminator" | "huge-size";
  /** Content-Length sent: the true one, a lie, two of them, or none. */
  length: "true" | "more" | "less" | "twice" | "negative" | "none";
  /** Cut the request after this fraction of its bytes (1 = whole). */
  cut: number;
}

/** A malformed (or well-formed but hostile) HTTP/1.1 request for `host`, aimed at `paths`. */
export function httpRequestArb(host: string, paths: string[], validToken: string): fc.Arbitrary<HttpSpec> {
  const target = fc.oneof(
    fc.constantFrom(...paths),
    fc.constantFrom(...paths).map((p) => `${p}?%zz=%`),
    fc.constantFrom("/%", "/%zz", "/%c0%af", "/..%2f..%2fetc", "//", "*", "http://[::1", "/\u00e9", "/a?b=" + "%41".repeat(2000)),
    fc.string({ maxLength: 100 }).map((s) => "/" + s),
    fc.integer({ min: 1, max: 100 }).map((k) => "/" + "p".repeat(k * 1000)),
  );
  return fc.record({
    method: fc.oneof(fc.constantFrom("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "CONNECT", "PATCH", "TRACE"), fc.constantFrom("", "G ET", "BREW", "post", "\u0000")),
    target,
    version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1x", ""),
    headers: fc.tuple(
      fc.oneof(fc.constant([["host", host]] as Array<[string, string]>), fc.constant([] as Array<[string, string]>), fc.constant([["host", "x"], ["host", host]] as Array<[string, string]>)),
      authorizationArb(validToken).map((a) => (a === undefined ? [] : ([["authorization", a]] as Array<[string, string]>))),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom("content-type", "x-ignite-org", "expect", "connection", "upgrade", "te", "cookie"), fc.string({ maxLength: 20 })), headerValueArb), { maxLength: 6 }),
    ).map(([a, b, c]) => [...a, ...b, ...c]),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 2048 }),
      fc.constantFrom("grant_type=client_credentials", "grant_type=client_credentials&client_id=%zz&client_secret=%", "grant_type=client_credentials&client_id=sa&client_secret=secret", "{\"name\":\"x\"}").map((s) => new TextEncoder().encode(s)),
      fc.integer({ min: 1, max: 40 }).map((k) => new Uint8Array(k * 4096).fill(0x61)),
    ),
    chunked: fc.constantFrom("no", "no", "valid", "bad-size", "no-terminator", "huge-size"),
    length: fc.constantFrom("true", "true", "more", "less", "twice", "negative", "none"),
    cut: fc.oneof(fc.constant(1), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  });
}

/** The request's bytes on the wire. */
export function httpBytes(s: HttpSpec): Buffer {
  const lines = [`${s.method} ${s.target} ${s.version}`.trimEnd()];
  for (const [k, v] of s.headers) lines.push(`${k}: ${v}`);
  let body: Buffer = Buffer.from(s.body);
  if (s.chunked !== "no") {
    lines.push("transfer-encoding: chunked");
    const size = s.chunked === "bad-size" ? "zz" : s.chunked === "huge-size" ? "ffffffffffffffff" : body.length.toString(16);
    body = Buffer.concat([Buffer.from(`${size}\r\n`), body, Buffer.from(s.chunked === "no-terminator" ? "\r\n" : "\r\n0\r\n\r\n")]);
  } else if (s.length !== "none") {
    const n = { true: body.length, more: body.length + 1000, less: Math.max(0, body.length - 10), twice: body.length, negative: -1 }[s.length];
    lines.push(`content-length: ${n}`);
    if (s.length === "twice") lines.push(`content-length: ${body.length + 7}`);
  }
  const whole = Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), body]);
  return whole.subarray(0, Math.max(1, Math.floor(whole.length * s.cut)));
}

/** Archives that lie: sizes, CRCs, types, names; bombs; traversal; links out; garbage after a valid start. */
export const hostileArchiveArb: fc.Arbitrary<{ label: string; bytes: Buffer }> = fc.oneof(
  fc.record({ size: fc.integer({ min: 1, max: 64 }), declared: fc.nat({ max: 1000 }) }).map(({ size, declared }) => ({
    label: "zip-lying-size",
    bytes: buildZip([{ name: "main.py", data: Buffer.alloc(size * 256 * 1024, 0x20), declaredSize: declared }]),
  })),
  fc.array(fc.string({ minLength: 1, maxLength: 120 }), { minLength: 1, maxLength: 5 }).map((names) => ({ label: "zip-hostile-names", bytes: buildZip(names.map((n) => ({ name: n, data: Buffer.from("x") }))) })),
  fc.constantFrom("../evil", "/abs/evil", "a/../../evil", "C:/evil", "d/".repeat(300) + "f", "n".repeat(300)).map((name) => ({ label: "zip-bad-path", bytes: buildZip([{ name, data: Buffer.from("x") }]) })),
  fc.constantFrom("/etc/passwd", "../../outside", "a/../../b").map((target) => ({ label: "zip-symlink-out", bytes: buildZip([{ name: "link", data: Buffer.from(target), mode: 0o120777 }]) })),
  fc.nat({ max: 0xffffffff }).map((crc) => ({ label: "zip-bad-crc", bytes: buildZip([{ name: "main.py", data: Buffer.from("print(1)\n"), declaredCrc: crc }]) })),
  fc.uint8Array({ minLength: 4, maxLength: 2000 }).map((b) => ({ label: "zip-garbage", bytes: Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.from(b)]) })),
  fc.record({ declared: fc.nat({ max: 2 ** 33 }), type: fc.constantFrom("0", "1", "2", "3", "4", "5", "6", "7", "g", "x", "L", "S") }).map(({ declared, type }) => ({
    label: "tar-lying-header",
    bytes: gzipSync(buildTar([{ name: "main.py", type, data: Buffer.from("print(1)\n"), declaredSize: declared, linkname: "../../etc/passwd" }])),
  })),
  fc.integer({ min: 1, max: 50 }).map((mb) => ({ label: "tgz-bomb", bytes: gzipSync(buildTar([{ name: "main.py", data: Buffer.from("print(1)\n") }], Buffer.alloc(mb * 1024 * 1024))) })),
  fc.integer({ min: 1, max: 40 }).map((mb) => ({ label: "tgz-big-entry", bytes: gzipSync(buildTar([{ name: "zeros", data: Buffer.alloc(mb * 1024 * 1024) }])) })),
  fc.double({ min: 0.05, max: 0.95, noNaN: true }).map((cut) => {
    const whole = gzipSync(buildTar([{ name: "main.py", data: Buffer.alloc(200_000, 0x23) }]));
    return { label: "tgz-truncated", bytes: whole.subarray(0, Math.floor(whole.length * cut)) };
  }),
  fc.uint8Array({ maxLength: 4000 }).map((b) => ({ label: "random-bytes", bytes: Buffer.from(b) })),
);

/** A correctly framed request (POST/GET, true Content-Length, whole) whose auth, form fields, target and headers are hostile. */
export function wellFramedArb(host: string, paths: string[], validToken: string): fc.Arbitrary<HttpSpec> {
  const formValue = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("%zz", "%", "%E0%A4%A", "%00", "a+b", "sa", "secret", "client_credentials"));
  const form = fc
    .record({ grant: fc.oneof(fc.constant("client_credentials"), formValue), id: fc.option(formValue), secret: fc.option(formValue), extra: fc.option(fc.string({ maxLength: 40 })) })
    .map(({ grant, id, secret, extra }) => [`grant_type=${grant}`, id === null ? "" : `client_id=${id}`, secret === null ? "" : `client_secret=${secret}`, extra ?? ""].filter(Boolean).join("&"));
  return fc.record({
    method: fc.constantFrom("POST", "POST", "GET", "PUT"),
    target: fc.oneof(fc.constantFrom(...paths), fc.constantFrom(...paths).map((p) => `${p}?%zz`), fc.string({ maxLength: 60 }).map((t) => `/${encodeURIComponent(t)}`)),
    version: fc.constant("HTTP/1.1"),
    headers: fc.tuple(authorizationArb(validToken), fc.array(fc.tuple(fc.constantFrom("content-type", "accept", "x-forwarded-for", "x-ignite-org", "cookie"), fc.string({ maxLength: 60 }).filter((v) => !/[\r\n\0]/.test(v))), { maxLength: 3 })).map(([auth, rest]) => [
      ["host", host] as [string, string],
      ["content-type", "application/x-www-form-urlencoded"] as [string, string],
      ...(auth === undefined || /[\r\n\0]/.test(auth) ? [] : [["authorization", auth] as [string, string]]),
      ...rest,
    ]),
    body: form.map((f) => new TextEncoder().encode(f)),
    chunked: fc.constant("no" as const),
    length: fc.constant("true" as const),
    cut: fc.constant(1),
  });
}
