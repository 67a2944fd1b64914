import { create, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as tls from "node:tls";
import { parseEndpoint } from "../config/config-keys.js";
import { MAX_MESSAGE_BYTES, deserializer, serializer } from "../wire/grpc-service.js";
import type { CallOptions, IgniteApi } from "./ignite-api.js";
import { ApiError } from "../errors.js";
import { TlsVerificationError, toApiError } from "./status-error.js";

/** Methods that only read, so a retry can never apply a change twice. */
const IDEMPOTENT = /^(Get|List|HealthCheck)/;
const READ_RETRIES = 3;
const RETRY_BASE_MS = 200;

export interface GrpcIgniteApiOptions {
  endpoint: string;
  token: string | undefined;
  /** Plaintext instead of TLS (the documented meaning of --debug). */
  plaintext: boolean;
  timeoutMs: number;
  /** Request traces (method, duration, status); never given the token. */
  trace?: (line: string) => void;
  /** Extra CA certificates (PEM) trusted in addition to the system roots, and where they came from. */
  caCert?: { pem: Buffer; source: string };
}

/** IgniteApi over @grpc/grpc-js: one channel, bearer metadata, deadlines and status mapping. */
export class GrpcIgniteApi implements IgniteApi {
  readonly endpoint: string;
  private readonly client: grpc.Client;

  constructor(private readonly options: GrpcIgniteApiOptions) {
    this.endpoint = parseEndpoint(options.endpoint).target;
    // grpc-js trusts only the roots it is given, so a user CA is added to Node's bundled roots, never instead of them.
    const credentials = options.plaintext
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(options.caCert ? Buffer.concat([Buffer.from(tls.rootCertificates.join("\n") + "\n"), options.caCert.pem]) : null);
    this.client = new grpc.Client(this.endpoint, credentials, {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      // Fail fast on a dead endpoint instead of waiting for the deadline.
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.enable_retries": 0,
    });
  }

  /**
   * A unary call. Reads (Get*, List*, HealthCheck) are retried on UNAVAILABLE with jittered
   * backoff, within the one deadline; mutations are never retried, since a lost answer does not
   * mean the change did not happen.
   */
  async unary<I extends DescMessage, O extends DescMessage>(method: DescMethod & { input: I; output: O }, request: MessageInitShape<I>, options: CallOptions = {}): Promise<MessageShape<O>> {
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    const retries = IDEMPOTENT.test(method.name) ? READ_RETRIES : 0;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.unaryOnce(method, request, { ...options, timeoutMs }, deadline);
      } catch (error) {
        const delay = RETRY_BASE_MS * 2 ** attempt * (0.5 + Math.random());
        if (!(error instanceof ApiError && error.code === "UNAVAILABLE") || error instanceof TlsVerificationError || attempt >= retries || Date.now() + delay >= deadline || options.signal?.aborted) throw error;
        this.options.trace?.(`${method.parent.name}.${method.name} unavailable; retry ${attempt + 1}/${retries} in ${Math.round(delay)}ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** One attempt, ending at the `deadline` the attempts share (errors name the whole timeout). */
  private unaryOnce<I extends DescMessage, O extends DescMessage>(method: DescMethod & { input: I; output: O }, request: MessageInitShape<I>, options: CallOptions, deadline: number): Promise<MessageShape<O>> {
    const call = this.prepare(method, options, deadline);
    return new Promise((resolve, reject) => {
      const stream = this.client.makeUnaryRequest(
        call.path,
        serializer(method.input),
        deserializer(method.output),
        create(method.input, request),
        call.metadata,
        call.callOptions,
        (error, response) => {
          call.finish(error);
          if (error) reject(call.toError(error));
          else resolve(response as MessageShape<O>);
        },
      );
      call.bindAbort(() => stream.cancel());
    });
  }

  async *serverStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    request: MessageInitShape<I>,
    options: CallOptions = {},
  ): AsyncIterable<MessageShape<O>> {
    const call = this.prepare(method, options);
    const stream = this.client.makeServerStreamRequest(call.path, serializer(method.input), deserializer(method.output), create(method.input, request), call.metadata, call.callOptions);
    call.bindAbort(() => stream.cancel());
    try {
      for await (const message of stream) yield message as MessageShape<O>;
      call.finish(null);
    } catch (error) {
      call.finish(error as grpc.ServiceError);
      throw isServiceError(error) ? call.toError(error) : error;
    } finally {
      // A consumer that stops early must not leave the call open.
      stream.cancel();
    }
  }

  clientStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    requests: AsyncIterable<MessageInitShape<I>>,
    options: CallOptions = {},
  ): Promise<MessageShape<O>> {
    const call = this.prepare(method, options);
    return new Promise((resolve, reject) => {
      let settled = false;
      const stream = this.client.makeClientStreamRequest(call.path, serializer(method.input), deserializer(method.output), call.metadata, call.callOptions, (error, response) => {
        settled = true;
        call.finish(error);
        if (error) reject(call.toError(error));
        else resolve(response as MessageShape<O>);
      });
      call.bindAbort(() => stream.cancel());
      void (async () => {
        try {
          for await (const request of requests) {
            if (settled) return;
            // Respect back-pressure so a large upload never buffers in memory.
            if (!stream.write(create(method.input, request))) await new Promise((r) => stream.once("drain", r));
          }
          stream.end();
        } catch (error) {
          stream.cancel();
          if (!settled) {
            settled = true;
            reject(error);
          }
        }
      })();
    });
  }

  close(): void {
    this.client.close();
  }

  private prepare(method: DescMethod, options: CallOptions, deadline?: number) {
    const path = `/${method.parent.typeName}/${method.name}`;
    const label = `${method.parent.name}.${method.name}`;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs;
    const metadata = new grpc.Metadata();
    if (this.options.token) metadata.set("authorization", `Bearer ${this.options.token}`);
    const until = deadline ?? (timeoutMs > 0 ? Date.now() + timeoutMs : Infinity);
    const callOptions: grpc.CallOptions = until !== Infinity ? { deadline: until } : {};
    const started = Date.now();
    const trace = this.options.trace;
    return {
      path,
      metadata,
      callOptions,
      finish: (error: grpc.ServiceError | null) => {
        // One line per RPC, after it ends; the token is never part of it.
        const outcome = error ? (grpc.status[error.code] ?? String(error.code)) : "OK";
        trace?.(`${label} ${this.endpoint} (${this.options.plaintext ? "plaintext" : "tls"}, ${this.options.token ? "bearer ***" : "no token"}): ${outcome} in ${Date.now() - started}ms`);
      },
      toError: (error: grpc.ServiceError) => toApiError(error, { endpoint: this.endpoint, method: label, plaintext: this.options.plaintext, timeoutMs, ...(this.options.caCert ? { caSource: this.options.caCert.source } : {}) }),
      bindAbort: (cancel: () => void) => {
        if (!options.signal) return;
        if (options.signal.aborted) cancel();
        else options.signal.addEventListener("abort", cancel, { once: true });
      },
    };
  }
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return typeof error === "object" && error !== null && "code" in error && typeof (error as { code: unknown }).code === "number";
}
