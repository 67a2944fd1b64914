/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha): list_services, file_by_filename,
 * file_containing_symbol (services, methods, messages, enums), returning serialized
 * FileDescriptorProtos of the file and its transitive dependencies.
 */
import { create, createRegistry, toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { status, type ServerDuplexStream, type UntypedHandleCall } from "@grpc/grpc-js";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

type Req = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

export function reflectionHandlers(services: DescService[]): { v1: Record<string, UntypedHandleCall>; v1alpha: Record<string, UntypedHandleCall> } {
  const allServices = [...services, v1.ServerReflection, v1alpha.ServerReflection];
  const files = new Map<string, DescFile>();
  const addFile = (f: DescFile) => {
    if (files.has(f.proto.name)) return;
    files.set(f.proto.name, f);
    for (const d of f.dependencies) addFile(d);
  };
  for (const s of allServices) addFile(s.file);
  const registry = createRegistry(...files.values());

  const closure = (f: DescFile): Uint8Array[] => {
    const out: Uint8Array[] = [];
    const seen = new Set<string>();
    const visit = (x: DescFile) => {
      if (seen.has(x.proto.name)) return;
      seen.add(x.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, x.proto));
      for (const d of x.dependencies) visit(d);
    };
    visit(f);
    return out;
  };

  const fileOfSymbol = (sym: string): DescFile | undefined => {
    const name = sym.replace(/^\./, "");
    const d = registry.get(name);
    if (d && "file" in d) return d.file;
    // a method: pkg.Service.Method
    const i = name.lastIndexOf(".");
    if (i > 0) {
      const svc = registry.getService(name.slice(0, i));
      if (svc && svc.methods.some((m) => m.name === name.slice(i + 1))) return svc.file;
    }
    return undefined;
  };

  type Answer =
    | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
    | { case: "listServicesResponse"; value: { service: { name: string }[] } }
    | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
    | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

  const answer = (req: Req): Answer => {
    const notFound = (m: string): Answer => ({ case: "errorResponse", value: { errorCode: status.NOT_FOUND, errorMessage: m } });
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: allServices.map((s) => ({ name: s.typeName })) } };
      case "fileByFilename": {
        const f = files.get(r.value);
        return f ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: closure(f) } } : notFound(`file '${r.value}' not found`);
      }
      case "fileContainingSymbol": {
        const f = fileOfSymbol(r.value);
        return f ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: closure(f) } } : notFound(`symbol '${r.value}' not found`);
      }
      case "fileContainingExtension":
        return notFound(`extension ${r.value.extensionNumber} of '${r.value.containingType}' not found`);
      case "allExtensionNumbersOfType":
        return registry.getMessage(r.value)
          ? { case: "allExtensionNumbersResponse", value: { baseTypeName: r.value, extensionNumber: [] } }
          : notFound(`type '${r.value}' not found`);
      default:
        return { case: "errorResponse", value: { errorCode: status.INVALID_ARGUMENT, errorMessage: "empty reflection request" } };
    }
  };

  const handler = (schema: typeof v1.ServerReflectionResponseSchema | typeof v1alpha.ServerReflectionResponseSchema) =>
    ((call: ServerDuplexStream<Req, unknown>) => {
      call.on("data", (req: Req) => {
        const msg = create(schema as typeof v1.ServerReflectionResponseSchema, {
          validHost: req.host,
          originalRequest: req as v1.ServerReflectionRequest,
          messageResponse: answer(req) as v1.ServerReflectionResponse["messageResponse"],
        });
        call.write(msg);
      });
      call.on("end", () => call.end());
      call.on("error", () => undefined);
    }) as UntypedHandleCall;

  return {
    v1: { serverReflectionInfo: handler(v1.ServerReflectionResponseSchema) },
    v1alpha: { serverReflectionInfo: handler(v1alpha.ServerReflectionResponseSchema) },
  };
}
