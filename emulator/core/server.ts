import http from "node:http";
import type { AddressInfo } from "node:net";
import type { EmulatorCore } from "./core";
import type { ServiceRequest, ServiceResponse } from "./types";

export interface HttpServerOptions {
  core: EmulatorCore;
  /** Answers `/_admin/…` (any host) and every request to `admin.localhost`. */
  admin: (req: ServiceRequest) => Promise<ServiceResponse>;
  port?: number;
  /** Largest accepted request body. */
  maxBodyBytes?: number;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

/**
 * One HTTP listener on 127.0.0.1 for every service; the Host header picks the service. Binding to
 * loopback only keeps the emulator (and its admin API, which has no authentication) off the network.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const server = http.createServer(
    // RPC calls carry every parameter in the query string: a 24 KB Base64 script exceeds Node's 16 KB default.
    { maxHeaderSize: 1024 * 1024 },
    (incoming, outgoing) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      incoming.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBodyBytes) tooLarge = true;
        else chunks.push(chunk);
      });
      incoming.on("end", () => {
        if (tooLarge) {
          send(outgoing, {
            status: 413,
            headers: { "content-type": "text/plain" },
            body: "request body too large",
          });
          return;
        }
        const request = toServiceRequest(incoming, Buffer.concat(chunks));
        route(options, request).then(
          (response) => send(outgoing, response),
          (error: unknown) =>
            send(outgoing, {
              status: 500,
              headers: { "content-type": "text/plain" },
              body: `emulator error: ${error instanceof Error ? error.message : String(error)}`,
            }),
        );
      });
    },
  );
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string")
    throw new Error("the emulator server has no TCP address");
  return {
    port: (address satisfies AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function route(options: HttpServerOptions, request: ServiceRequest): Promise<ServiceResponse> {
  if (
    request.host === "admin.localhost" ||
    request.path === "/_admin" ||
    request.path.startsWith("/_admin/")
  ) {
    return options.admin(request);
  }
  const service = options.core.serviceFor(request.host);
  if (service === undefined) {
    return {
      status: 404,
      headers: { "content-type": "application/json;charset=utf-8" },
      body: JSON.stringify({
        Code: "InvalidHost",
        Message: `No emulated service answers for host "${request.host}". See emulator/README.md for host names.`,
      }),
    };
  }
  return options.core.dispatch(service, request);
}

function send(outgoing: http.ServerResponse, response: ServiceResponse): void {
  if (response.lost) {
    outgoing.socket?.destroy();
    return;
  }
  const body = typeof response.body === "string" ? Buffer.from(response.body, "utf8") : response.body;
  outgoing.writeHead(response.status, { ...response.headers, "content-length": String(body.length) });
  outgoing.end(body);
}

export function toServiceRequest(incoming: http.IncomingMessage, body: Buffer): ServiceRequest {
  const url = incoming.url ?? "/";
  const questionMark = url.indexOf("?");
  const rawPath = questionMark < 0 ? url : url.slice(0, questionMark);
  const rawQuery = questionMark < 0 ? "" : url.slice(questionMark + 1);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQuery)) query[name] = value;
  let path = rawPath;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    // keep the raw path: the service answers with its own error
  }
  return {
    method: incoming.method ?? "GET",
    rawPath,
    path,
    rawQuery,
    query,
    headers,
    host: (headers.host ?? "").replace(/:\d+$/, "").toLowerCase(),
    body,
  };
}
