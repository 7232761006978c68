/**
 * The agent's side of PutLogs: a protobuf LogGroup (the emulator's encoder), LZ4-compressed (the
 * emulator's block compressor), signed with SLS's v1 scheme (`LOG <key id>:<HMAC-SHA256>` over
 * method, Content-MD5, Content-Type, Date, the `x-log-*` headers and the resource), posted over HTTP
 * to `POST /logstores/<logstore>/shards/lb` on `<project>.<region>.log.localhost`. The signer is
 * written from the protocol (as `@alicloud/log` signs), not shared with the server's verifier.
 */
import { createHash, createHmac } from "node:crypto";
import { Agent, request } from "node:http";
import { encodeLogGroup, type LogGroupColumns } from "../../emulator/sls/logGroupCodec";
import { lz4CompressBlock } from "../../emulator/sls/lz4";

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
}

export interface PutLogsTarget {
  region: string;
  project: string;
  logstore: string;
  key: AccessKey;
}

/** A body ready to send (and to send again, byte for byte, after a lost answer). */
export interface PutLogsBody {
  body: Buffer;
  rawSize: number;
}

export type PutLogsOutcome =
  | { kind: "ok" }
  /** No answer (connection lost, timeout) or a retryable error: send the same body again. */
  | { kind: "retry"; reason: string }
  /** A refusal that sending again will not change (bad key, no such logstore). */
  | { kind: "refused"; status: number; code: string };

export function buildPutLogsBody(group: LogGroupColumns): PutLogsBody {
  const raw = encodeLogGroup(group);
  return { body: lz4CompressBlock(raw), rawSize: raw.length };
}

export class PutLogsClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly port: number,
    private readonly host = "127.0.0.1",
    private readonly timeoutMs = 30_000,
  ) {}

  send(target: PutLogsTarget, payload: PutLogsBody): Promise<PutLogsOutcome> {
    const path = `/logstores/${target.logstore}/shards/lb`;
    const headers: Record<string, string> = {
      "content-md5": createHash("md5").update(payload.body).digest("hex").toUpperCase(),
      "content-type": "application/x-protobuf",
      date: new Date().toUTCString(),
      "x-log-apiversion": "0.6.0",
      "x-log-bodyrawsize": String(payload.rawSize),
      "x-log-compresstype": "lz4",
      "x-log-signaturemethod": "hmac-sha256",
    };
    const signed = Object.keys(headers)
      .filter((name) => name.startsWith("x-log-") || name.startsWith("x-acs-"))
      .sort()
      .map((name) => `${name}:${headers[name]}\n`)
      .join("");
    const stringToSign = `POST\n${headers["content-md5"]}\n${headers["content-type"]}\n${headers.date}\n${signed}${path}`;
    const signature = createHmac("sha256", target.key.accessKeySecret).update(stringToSign).digest("base64");
    return new Promise((resolve) => {
      const req = request(
        {
          host: this.host,
          port: this.port,
          method: "POST",
          path,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            ...headers,
            host: `${target.project}.${target.region}.log.localhost`,
            "content-length": String(payload.body.length),
            authorization: `LOG ${target.key.accessKeyId}:${signature}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (error) => resolve({ kind: "retry", reason: error.message }));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            if (status === 200) return resolve({ kind: "ok" });
            const code = errorCodeOf(Buffer.concat(chunks).toString("utf8"));
            // Logtail retries throttling, server errors and timeouts; other refusals are final.
            if (status >= 500 || status === 429 || status === 408 || code === "ExceedQuota") {
              return resolve({ kind: "retry", reason: `${status} ${code}` });
            }
            resolve({ kind: "refused", status, code });
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (error) => resolve({ kind: "retry", reason: error.message }));
      req.end(payload.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function errorCodeOf(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "errorCode" in parsed) {
      return String(parsed.errorCode);
    }
  } catch {
    // not JSON
  }
  return "Unknown";
}
