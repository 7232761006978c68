/** Data-plane helpers for the SLS tests: the independent client, a hand-signed request, LogGroups. */
import { createHash, createHmac } from "node:crypto";
import http from "node:http";
import LogClient from "@alicloud/log";
import { encodeLogGroup, type LogGroupColumns } from "../../emulator/sls/logGroupCodec";
import { region } from "./slsTestKit";

export function logClient(
  port: number,
  account: { accessKeyId: string; accessKeySecret: string },
): LogClient {
  return new LogClient({
    accessKeyId: account.accessKeyId,
    accessKeySecret: account.accessKeySecret,
    endpoint: `http://${region}.log.localhost:${port}`,
  });
}

/** A LogGroup of `lines` logs `{seq, msg}` at `time`, with a host tag. */
export function logGroup(lines: number, time: number, prefix = "line"): LogGroupColumns {
  const keys: string[] = [];
  const values: string[] = [];
  const fieldStart = [0];
  for (let i = 0; i < lines; i += 1) {
    keys.push("seq", "msg");
    values.push(String(i), `${prefix} ${i} ${"x".repeat(40)}`);
    fieldStart.push(keys.length);
  }
  return {
    topic: "app",
    source: "10.0.0.1",
    tags: ["__hostname__", "host-1"],
    times: new Uint32Array(lines).fill(time),
    timeNs: undefined,
    fieldStart: Uint32Array.from(fieldStart),
    keys,
    values,
  };
}

export function encodedGroup(lines: number, time: number, prefix?: string): Buffer {
  return encodeLogGroup(logGroup(lines, time, prefix));
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One request signed with the v1 scheme as SLS documents it (written here independently of the
 * emulator's verifier): HMAC-SHA256 over method, content-md5, content-type, date, sorted x-log-/x-acs-
 * headers and the path with its sorted query.
 */
export function signedRequest(
  port: number,
  account: { accessKeyId: string; accessKeySecret: string },
  options: {
    method: string;
    project: string;
    path: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: Buffer;
  },
): Promise<RawResponse> {
  const body = options.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = {
    date: new Date().toUTCString(),
    "x-log-apiversion": "0.6.0",
    "x-log-signaturemethod": "hmac-sha256",
    "x-log-bodyrawsize": String(body.length),
    ...options.headers,
  };
  if (body.length > 0 && headers["content-md5"] === undefined)
    headers["content-md5"] = createHash("md5").update(body).digest("hex").toUpperCase();
  const query = Object.entries(options.query ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const canonical = Object.keys(headers)
    .filter((name) => name.startsWith("x-log-") || name.startsWith("x-acs-"))
    .sort()
    .map((name) => `${name}:${headers[name]}\n`)
    .join("");
  const resource =
    query.length === 0 ? options.path : `${options.path}?${query.map(([k, v]) => `${k}=${v}`).join("&")}`;
  const stringToSign = [
    options.method,
    headers["content-md5"] ?? "",
    headers["content-type"] ?? "",
    headers.date,
    `${canonical}${resource}`,
  ].join("\n");
  const signature = createHmac("sha256", account.accessKeySecret).update(stringToSign).digest("base64");
  headers.authorization = `LOG ${account.accessKeyId}:${signature}`;
  const search = new URLSearchParams(query).toString();
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port,
        method: options.method,
        path: search === "" ? options.path : `${options.path}?${search}`,
        headers: { ...headers, host: `${options.project}.${region}.log.localhost:${port}` },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}
