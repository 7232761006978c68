/**
 * Serves one emulated service over real HTTP on 127.0.0.1 with a stub ServiceContext, so contract tests
 * can drive it through the official SDKs without the rest of the emulator. Names under `.localhost` are
 * resolved to 127.0.0.1 (the core's resolver) while a harness is open.
 */
import http from "node:http";
import { installLocalhostResolver } from "../../emulator/core/resolver";
import { toServiceRequest } from "../../emulator/core/server";
import type {
  Admission,
  Clock,
  EmulatedService,
  KeyRecord,
  ServiceContext,
  ServiceName,
} from "../../emulator/core/types";

export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export interface AdmissionCall {
  service: ServiceName;
  operation: string;
  accountId: string;
  region: string;
}

export interface Harness<S extends EmulatedService> {
  service: S;
  port: number;
  clock: ManualClock;
  /** Every admitted call, in order. */
  admissions: AdmissionCall[];
  /** The next admission checks return these outcomes, one each, then `ok` again. */
  queueAdmissions(...outcomes: Admission[]): void;
  addKey(key: KeyRecord): void;
  close(): Promise<void>;
}

export async function serveService<S extends EmulatedService>(
  factory: (ctx: ServiceContext) => S,
  keys: readonly KeyRecord[],
): Promise<Harness<S>> {
  const clock = new ManualClock();
  const keyTable = new Map(keys.map((key) => [key.accessKeyId, key]));
  const admissions: AdmissionCall[] = [];
  const queued: Admission[] = [];
  let sequence = 0;
  const ctx: ServiceContext = {
    clock,
    lookupKey: (accessKeyId) => keyTable.get(accessKeyId),
    admit: async (call) => {
      admissions.push(call);
      return queued.shift() ?? { kind: "ok" };
    },
    // The harness's keys are users: RAM allows them everything.
    authorize: () => ({ allowed: true }),
    nextId: () => {
      sequence += 1;
      return sequence;
    },
  };
  const service = factory(ctx);
  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
    incoming.on("end", () => {
      const request = toServiceRequest(incoming, Buffer.concat(chunks));
      if (!service.matchesHost(request.host)) {
        outgoing.writeHead(404).end(`no service for host ${request.host}`);
        return;
      }
      service.handle(request).then(
        (response) => {
          outgoing.writeHead(response.status, response.headers);
          outgoing.end(response.body);
        },
        (error: unknown) => {
          outgoing.writeHead(500).end(String(error));
        },
      );
    });
  });
  // Keep-alive sockets of the SDKs' agents must not keep the server (and jest) alive after close.
  server.keepAliveTimeout = 200;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("harness server has no TCP address");
  const { port } = address;
  const releaseResolver = installLocalhostResolver();
  return {
    service,
    port,
    clock,
    admissions,
    queueAdmissions: (...outcomes) => {
      queued.push(...outcomes);
    },
    addKey: (key) => {
      keyTable.set(key.accessKeyId, key);
    },
    close: async () => {
      releaseResolver();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
