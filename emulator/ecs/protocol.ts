import { createHash } from "node:crypto";
import { isoSeconds } from "../core/clock";
import type { RpcParams } from "../core/rpc/params";
import type { EcsInstance } from "./backend";
import type { InstanceInvocationResult, Invocation, InvocationStatus } from "./cloudAssistant";
import { ecsErrors } from "./errors";

/** ECS writes instance times at minute precision: `2026-01-01T08:00Z`. */
export function isoMinutes(ms: number): string {
  return new Date(ms).toISOString().replace(/:\d{2}\.\d{3}Z$/, "Z");
}

export interface Page<T> {
  items: T[];
  nextToken: string;
  totalCount: number;
}

/**
 * Opaque `NextToken` paging: the token records the offset and the query it belongs to, so a token
 * replayed with different filters is refused instead of silently skipping items.
 */
export function pageByToken<T>(
  items: readonly T[],
  maxResults: number,
  nextToken: string | undefined,
  query: unknown,
): Page<T> {
  const fingerprint = createHash("sha256").update(JSON.stringify(query)).digest("hex").slice(0, 16);
  let offset = 0;
  if (nextToken !== undefined) {
    const decoded = decodeToken(nextToken);
    if (decoded === undefined || decoded.query !== fingerprint) throw ecsErrors.invalidNextToken();
    offset = decoded.offset;
  }
  const slice = items.slice(offset, offset + maxResults);
  const end = offset + slice.length;
  return {
    items: slice,
    nextToken: end < items.length ? encodeToken(end, fingerprint) : "",
    totalCount: items.length,
  };
}

function encodeToken(offset: number, query: string): string {
  return Buffer.from(`${offset}:${query}`, "utf8").toString("base64url");
}

function decodeToken(token: string): { offset: number; query: string } | undefined {
  const match = /^(\d+):([0-9a-f]{16})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (match?.[1] === undefined || match[2] === undefined) return undefined;
  return { offset: Number(match[1]), query: match[2] };
}

/** Reads `MaxResults` within the operation's bounds. */
export function maxResults(params: RpcParams, max: number, fallback: number): number {
  const text = params.optional("MaxResults");
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw ecsErrors.invalidMaxResults();
  const value = Number(text);
  if (value < 1 || value > max) throw ecsErrors.invalidMaxResults();
  return value;
}

/** `Tag.N.Key` / `Tag.N.Value` pairs (N from 1 to 20). */
export function tagPairs(params: RpcParams): Array<{ key: string; value: string | undefined }> {
  const groups = params.objects("Tag", ["Key", "Value"] as const);
  if (groups.length > 20) throw ecsErrors.tagCount();
  return groups.map((group) => {
    if (group.Key === undefined || group.Key === "") throw ecsErrors.tagKeyMalformed();
    return { key: group.Key, value: group.Value };
  });
}

export function validateTag(key: string, value: string): void {
  if (key.length > 128 || /^(aliyun|acs:)/i.test(key) || /https?:\/\//i.test(key))
    throw ecsErrors.tagKeyMalformed();
  if (value.length > 128 || /^(aliyun|acs:)/i.test(value) || /https?:\/\//i.test(value)) {
    throw ecsErrors.tagValueMalformed();
  }
}

export function instanceJson(instance: EcsInstance): Record<string, unknown> {
  const body: Record<string, unknown> = {
    InstanceId: instance.instanceId,
    InstanceName: instance.instanceName,
    HostName: instance.hostName,
    Description: "",
    RegionId: instance.regionId,
    ZoneId: instance.zoneId,
    Status: instance.status,
    OSType: instance.osType,
    OSName: instance.osName,
    OSNameEn:
      instance.osType === "linux"
        ? "Alibaba Cloud Linux 3.2104 LTS 64 bit"
        : "Windows Server 2022 Datacenter 64-bit",
    SerialNumber: instance.serialNumber,
    InstanceType: instance.instanceType,
    InstanceTypeFamily: instance.instanceType.split(".").slice(0, 2).join("."),
    Cpu: 2,
    Memory: 8192,
    ImageId: instance.imageId,
    CreationTime: isoMinutes(instance.creationTime),
    StartTime: isoMinutes(instance.startTime),
    ExpiredTime: "2099-12-31T15:59Z",
    InstanceChargeType: "PostPaid",
    InternetChargeType: "PayByTraffic",
    InstanceNetworkType: "vpc",
    IoOptimized: true,
    StoppedMode: instance.status === "Stopped" ? "KeepCharging" : "Not-applicable",
    DeletionProtection: false,
    ResourceGroupId: "",
    KeyPairName: "",
    VpcAttributes: {
      VpcId: instance.vpcId,
      VSwitchId: instance.vSwitchId,
      NatIpAddress: "",
      PrivateIpAddress: { IpAddress: [instance.privateIpAddress] },
    },
    InnerIpAddress: { IpAddress: [] },
    PublicIpAddress: { IpAddress: [] },
    EipAddress: { AllocationId: "", IpAddress: "", Bandwidth: 0, InternetChargeType: "" },
    SecurityGroupIds: { SecurityGroupId: [`sg-${instance.vpcId.slice(4, 24)}`] },
    NetworkInterfaces: {
      NetworkInterface: [
        {
          NetworkInterfaceId: instance.networkInterfaceId,
          MacAddress: instance.macAddress,
          PrimaryIpAddress: instance.privateIpAddress,
          Type: "Primary",
          PrivateIpSets: { PrivateIpSet: [{ PrivateIpAddress: instance.privateIpAddress, Primary: true }] },
        },
      ],
    },
    OperationLocks: { LockReason: [] },
  };
  // ECS leaves `Tags` out of an instance that has none.
  if (instance.tags.size > 0) body.Tags = { Tag: tagList(instance.tags) };
  return body;
}

export function tagList(tags: ReadonlyMap<string, string>): Array<{ TagKey: string; TagValue: string }> {
  return [...tags].map(([TagKey, TagValue]) => ({ TagKey, TagValue }));
}

/** `InvokeRecordStatus` of one instance's record. */
function recordStatus(status: InvocationStatus, errorCode: string): string {
  if (status === "Pending") return "Pending";
  if (status === "Running") return "Running";
  if (status === "Success") return "Finished";
  if (status === "Failed" && errorCode === "ExitCodeNonzero") return "Finished";
  return "Failed";
}

/** Overall `InvocationStatus` of an invocation from its instances' statuses. */
export function overallStatus(results: readonly InstanceInvocationResult[]): string {
  const statuses = results.map((result) => result.status);
  if (statuses.every((status) => status === "Pending")) return "Pending";
  if (statuses.some((status) => status === "Pending" || status === "Running")) return "Running";
  if (statuses.every((status) => status === "Success")) return "Success";
  if (statuses.every((status) => status !== "Success")) return "Failed";
  return "PartialFailed";
}

/** The legacy `InvokeStatus`. */
function legacyStatus(results: readonly InstanceInvocationResult[]): string {
  const overall = overallStatus(results);
  if (overall === "Pending" || overall === "Running") return "Running";
  if (overall === "Success") return "Finished";
  if (overall === "Failed") return "Failed";
  return "PartialFinished";
}

export type OutputEncoding = "Base64" | "PlainText";

export function outputEncoding(params: RpcParams): OutputEncoding {
  const text = params.optional("ContentEncoding") ?? "Base64";
  if (text === "Base64" || text === "PlainText") return text;
  throw ecsErrors.contentEncoding();
}

function encodeOutput(output: Buffer, encoding: OutputEncoding): string {
  return encoding === "Base64" ? output.toString("base64") : output.toString("utf8");
}

function optionalTime(ms: number | undefined): string {
  return ms === undefined ? "" : isoSeconds(ms);
}

export function invocationResultJson(
  invocation: Invocation,
  result: InstanceInvocationResult,
  encoding: OutputEncoding,
): Record<string, unknown> {
  return {
    CommandId: invocation.commandId,
    InvokeId: invocation.invokeId,
    InstanceId: result.instanceId,
    InvocationStatus: result.status,
    InvokeRecordStatus: recordStatus(result.status, result.errorCode),
    ExitCode: result.exitCode ?? null,
    ErrorCode: result.errorCode,
    ErrorInfo: result.errorInfo,
    Output: encodeOutput(result.output, encoding),
    Dropped: result.dropped,
    StartTime: optionalTime(result.startTime),
    FinishedTime: optionalTime(result.finishTime),
    StopTime: "",
    Repeats: result.status === "Pending" ? 0 : 1,
    Username: invocation.username ?? (invocation.type === "RunShellScript" ? "root" : "system"),
    TerminationMode: "Process",
    Tags: { Tag: [] },
  };
}

export function invocationJson(
  invocation: Invocation,
  includeOutput: boolean,
  encoding: OutputEncoding,
): Record<string, unknown> {
  return {
    InvokeId: invocation.invokeId,
    CommandId: invocation.commandId,
    CommandName: invocation.name,
    CommandType: invocation.type,
    CommandDescription: invocation.description,
    CommandContent: invocation.commandContentBase64,
    Parameters: JSON.stringify(invocation.parameters),
    CreationTime: isoSeconds(invocation.creationTime),
    Frequency: "",
    RepeatMode: "Once",
    Timed: false,
    Timeout: invocation.timeoutSeconds,
    Username: invocation.username ?? (invocation.type === "RunShellScript" ? "root" : "system"),
    WorkingDir: invocation.workingDir ?? "",
    InvocationStatus: overallStatus(invocation.results),
    InvokeStatus: legacyStatus(invocation.results),
    TerminationMode: "Process",
    Tags: { Tag: [] },
    InvokeInstances: {
      InvokeInstance: invocation.results.map((result) => ({
        InstanceId: result.instanceId,
        InvocationStatus: result.status,
        InstanceInvokeStatus: legacyInstanceStatus(result.status),
        ExitCode: result.exitCode ?? null,
        ErrorCode: result.errorCode,
        ErrorInfo: result.errorInfo,
        Output: includeOutput ? encodeOutput(result.output, encoding) : "",
        Dropped: result.dropped,
        Repeats: result.status === "Pending" ? 0 : 1,
        CreationTime: isoSeconds(result.creationTime),
        StartTime: optionalTime(result.startTime),
        FinishTime: optionalTime(result.finishTime),
        StopTime: "",
        UpdateTime: isoSeconds(result.updateTime),
        Timed: false,
      })),
    },
  };
}

function legacyInstanceStatus(status: InvocationStatus): string {
  if (status === "Pending" || status === "Running") return "Running";
  return status === "Success" ? "Finished" : "Failed";
}
