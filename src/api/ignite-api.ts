import type {
  DescMessage,
  DescMethodClientStreaming,
  DescMethodServerStreaming,
  DescMethodUnary,
  MessageInitShape,
  MessageShape,
} from "@bufbuild/protobuf";

export interface CallOptions {
  /** Overrides the per-call deadline derived from --timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The one network seam the CLI's core depends on. Calls are named by the generated method
 * descriptors (e.g. `ComputeService.method.getApp`), so requests and responses stay typed and no
 * gRPC type leaks into core. Every failure is thrown as an ApiError carrying the exit code.
 */
export interface IgniteApi {
  readonly endpoint: string;
  unary<I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>, request: MessageInitShape<I>, options?: CallOptions): Promise<MessageShape<O>>;
  serverStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodServerStreaming<I, O>,
    request: MessageInitShape<I>,
    options?: CallOptions,
  ): AsyncIterable<MessageShape<O>>;
  clientStream<I extends DescMessage, O extends DescMessage>(
    method: DescMethodClientStreaming<I, O>,
    requests: AsyncIterable<MessageInitShape<I>>,
    options?: CallOptions,
  ): Promise<MessageShape<O>>;
  close(): void;
}
