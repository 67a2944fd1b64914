/**
 * The one bridge between protobuf-es service descriptors and @grpc/grpc-js. Both the client seam
 * (src/api) and the local control plane (src/local) build their grpc-js definitions here, so method
 * paths and serialisation can never drift between the two sides.
 */
import { fromBinary, toBinary, type DescMessage, type DescService, type MessageShape } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/** Largest single message either side accepts; contexts above it travel as a client stream. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** Protobuf-es message → Buffer for grpc-js. */
export function serializer<D extends DescMessage>(desc: D) {
  return (message: MessageShape<D>): Buffer => {
    const bytes = toBinary(desc, message);
    // grpc-js calls Buffer#copy on the result: a plain Uint8Array fails with "Failed to write message".
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Buffer from grpc-js → protobuf-es message. */
export function deserializer<D extends DescMessage>(desc: D) {
  return (bytes: Buffer): MessageShape<D> => fromBinary(desc, bytes);
}

/**
 * What a server's deserializer yields for bytes that are not a valid request message. grpc-js turns
 * a throwing deserializer into INTERNAL ("Error deserializing request"), which blames the server for
 * the client's bytes; a server marks the message instead and answers INVALID_ARGUMENT.
 */
export class MalformedMessage {
  constructor(
    readonly typeName: string,
    readonly reason: string,
  ) {}
}

/** Buffer → message, or a MalformedMessage saying why the bytes are not one. */
export function tolerantDeserializer<D extends DescMessage>(desc: D) {
  return (bytes: Buffer): MessageShape<D> | MalformedMessage => {
    try {
      return fromBinary(desc, bytes);
    } catch (e) {
      return new MalformedMessage(desc.typeName, e instanceof Error ? e.message : String(e));
    }
  };
}

/**
 * grpc-js service definition keyed by each method's localName (createApp, saveDraft, ...). A server
 * passes `{ tolerant: true }` so malformed requests arrive as MalformedMessage (see above).
 */
export function grpcServiceDefinition(service: DescService, options: { tolerant?: boolean } = {}): ServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      originalName: method.name,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializer(method.input) as (m: unknown) => Buffer,
      requestDeserialize: options.tolerant ? tolerantDeserializer(method.input) : deserializer(method.input),
      responseSerialize: serializer(method.output) as (m: unknown) => Buffer,
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition as ServiceDefinition;
}
