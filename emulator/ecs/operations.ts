/**
 * The ECS operation handlers. The core's RPC service (core/rpc/service.ts) routes a request by its
 * `Action` to one of them after checking the signature; each validates its parameters, calls the
 * backend and shapes the answer with protocol.ts.
 */
import { gatewayErrors } from "../core/rpc/errors";
import type { RpcHandler, RpcInvocation } from "../core/rpc/service";
import { type EcsBackend, type EcsInstance, instanceStatuses } from "./backend";
import { ecsErrors } from "./errors";
import type { CommandType } from "./executor";
import {
  instanceJson,
  invocationJson,
  invocationResultJson,
  maxResults,
  outputEncoding,
  overallStatus,
  pageByToken,
  tagPairs,
  validateTag,
} from "./protocol";

const commandTypes: readonly CommandType[] = ["RunShellScript", "RunPowerShellScript", "RunBatScript"];
/** Cloud Assistant's limit on CommandContent, measured Base64-encoded. */
const maxContentBase64Bytes = 24 * 1024;

/** The ECS operations the emulator serves: Action → handler. */
export function ecsOperations(backend: EcsBackend): Record<string, RpcHandler> {
  return {
    DescribeInstances: (call) => describeInstances(backend, call),
    TagResources: (call) => tagResources(backend, call),
    UntagResources: (call) => untagResources(backend, call),
    ListTagResources: (call) => listTagResources(backend, call),
    DescribeCloudAssistantStatus: (call) => describeCloudAssistantStatus(backend, call),
    RunCommand: (call) => runCommand(backend, call),
    DescribeInvocations: (call) => describeInvocations(backend, call),
    DescribeInvocationResults: (call) => describeInvocationResults(backend, call),
    StartInstance: (call) => {
      backend.startInstance(call.caller.accountId, call.params.required("InstanceId"));
      return {};
    },
    StopInstance: (call) => {
      backend.stopInstance(call.caller.accountId, call.params.required("InstanceId"));
      return {};
    },
  };
}

function requireRegion(call: RpcInvocation): string {
  const regionId = call.params.required("RegionId");
  if (!/^[a-z]{2,}(-[a-z0-9]+)+$/.test(regionId)) throw ecsErrors.regionNotFound();
  return regionId;
}

function describeInstances(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const { params } = call;
  const regionId = requireRegion(call);
  const instanceIds = params.jsonStringArray("InstanceIds");
  if (instanceIds !== undefined && instanceIds.length > 100) throw ecsErrors.instanceIdsMalformed();
  const privateIps = params.jsonStringArray("PrivateIpAddresses");
  const status = params.optional("Status");
  if (status !== undefined && !instanceStatuses.some((known) => known === status))
    throw ecsErrors.invalidStatus();
  const tags = tagPairs(params);
  const vpcId = params.optional("VpcId");
  const zoneId = params.optional("ZoneId");
  const instanceName = params.optional("InstanceName");
  const namePattern = instanceName === undefined ? undefined : wildcard(instanceName);

  const matching = backend
    .instancesIn(call.caller.accountId, regionId)
    .filter(
      (instance) =>
        (instanceIds === undefined || instanceIds.includes(instance.instanceId)) &&
        (privateIps === undefined || privateIps.includes(instance.privateIpAddress)) &&
        (status === undefined || instance.status === status) &&
        (vpcId === undefined || instance.vpcId === vpcId) &&
        (zoneId === undefined || instance.zoneId === zoneId) &&
        (namePattern === undefined || namePattern.test(instance.instanceName)) &&
        tags.every(({ key, value }) =>
          value === undefined ? instance.tags.has(key) : instance.tags.get(key) === value,
        ),
    );

  const legacyPaging =
    !params.has("MaxResults") &&
    !params.has("NextToken") &&
    (params.has("PageNumber") || params.has("PageSize"));
  if (legacyPaging) {
    const pageSize = params.integer("PageSize", { min: 1, max: 100 }) ?? 10;
    const pageNumber = params.integer("PageNumber", { min: 1 }) ?? 1;
    const items = matching.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
    return {
      Instances: { Instance: items.map(instanceJson) },
      TotalCount: matching.length,
      PageNumber: pageNumber,
      PageSize: pageSize,
    };
  }
  const query = { regionId, instanceIds, privateIps, status, tags, vpcId, zoneId, instanceName };
  const page = pageByToken(matching, maxResults(params, 100, 10), params.optional("NextToken"), query);
  return {
    Instances: { Instance: page.items.map(instanceJson) },
    TotalCount: page.totalCount,
    NextToken: page.nextToken,
  };
}

function resourceIds(call: RpcInvocation): string[] {
  const resourceType = call.params.required("ResourceType");
  if (resourceType !== "instance") throw ecsErrors.resourceTypeNotFound();
  const ids = call.params.list("ResourceId");
  if (ids.length === 0) throw gatewayErrors.missingParameter("ResourceId.N");
  if (ids.length > 50) throw ecsErrors.resourceIdCount();
  return ids;
}

function tagResources(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const regionId = requireRegion(call);
  const ids = resourceIds(call);
  const tags = tagPairs(call.params).map(({ key, value }): [string, string] => {
    validateTag(key, value ?? "");
    return [key, value ?? ""];
  });
  if (tags.length === 0) throw gatewayErrors.missingParameter("Tag.N.Key");
  backend.tagResources(callerContext(call, regionId), ids, tags);
  return {};
}

function untagResources(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const regionId = requireRegion(call);
  const ids = resourceIds(call);
  const tagKeys = call.params.list("TagKey");
  if (tagKeys.length > 20) throw ecsErrors.tagCount();
  backend.untagResources(callerContext(call, regionId), ids, tagKeys, call.params.boolean("All") ?? false);
  return {};
}

function listTagResources(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const { params } = call;
  const regionId = requireRegion(call);
  const resourceType = params.required("ResourceType");
  if (resourceType !== "instance") throw ecsErrors.resourceTypeNotFound();
  const ids = params.list("ResourceId");
  if (ids.length > 50) throw ecsErrors.resourceIdCount();
  const tags = tagPairs(params);
  const instances = backend
    .instancesIn(call.caller.accountId, regionId)
    .filter(
      (instance) =>
        (ids.length === 0 || ids.includes(instance.instanceId)) &&
        tags.every(({ key, value }) =>
          value === undefined ? instance.tags.has(key) : instance.tags.get(key) === value,
        ),
    );
  const entries = instances.flatMap((instance) =>
    [...instance.tags].map(([TagKey, TagValue]) => ({
      ResourceId: instance.instanceId,
      ResourceType: "instance",
      TagKey,
      TagValue,
    })),
  );
  const page = pageByToken(entries, 50, params.optional("NextToken"), { regionId, ids, tags });
  return { TagResources: { TagResource: page.items }, NextToken: page.nextToken };
}

function describeCloudAssistantStatus(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const { params } = call;
  const regionId = requireRegion(call);
  const ids = params.list("InstanceId");
  if (ids.length > 50) throw ecsErrors.instanceCount();
  const osType = params.optional("OSType");
  const instances = backend
    .instancesIn(call.caller.accountId, regionId)
    .filter(
      (instance) =>
        (ids.length === 0 || ids.includes(instance.instanceId)) &&
        (osType === undefined || instance.osType === osType.toLowerCase()),
    );
  const page = pageByToken(instances, maxResults(params, 50, 10), params.optional("NextToken"), {
    regionId,
    ids,
    osType,
  });
  return {
    InstanceCloudAssistantStatusSet: {
      InstanceCloudAssistantStatus: page.items.map((instance) => cloudAssistantJson(backend, instance)),
    },
    TotalCount: page.totalCount,
    NextToken: page.nextToken,
  };
}

function cloudAssistantJson(backend: EcsBackend, instance: EcsInstance): Record<string, unknown> {
  // The agent only heartbeats while the instance runs.
  const online = instance.cloudAssistantOnline && instance.status === "Running";
  const active = backend.activeTaskCount(instance);
  return {
    InstanceId: instance.instanceId,
    CloudAssistantStatus: online ? "true" : "false",
    CloudAssistantVersion: instance.cloudAssistantVersion,
    OSType: instance.osType === "linux" ? "Linux" : "Windows",
    LastHeartbeatTime: online ? new Date(instance.startTime).toISOString().replace(/\.\d{3}Z$/, "Z") : "",
    InvocationCount: instance.invocationCount,
    ActiveTaskCount: active,
    LastInvokedTime:
      instance.lastInvokedTime === undefined
        ? ""
        : new Date(instance.lastInvokedTime).toISOString().replace(/\.\d{3}Z$/, "Z"),
    SupportSessionManager: true,
  };
}

function runCommand(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const { params } = call;
  const regionId = requireRegion(call);
  const typeText = params.required("Type");
  const type = commandTypes.find((known) => known === typeText);
  if (type === undefined) throw ecsErrors.commandType();
  const content = params.required("CommandContent");
  const encoding = params.optional("ContentEncoding") ?? "PlainText";
  let script: string;
  if (encoding === "Base64") {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content) || content.length % 4 !== 0)
      throw ecsErrors.contentNotBase64();
    script = Buffer.from(content, "base64").toString("utf8");
    if (content.length > maxContentBase64Bytes) throw ecsErrors.contentTooLarge();
  } else if (encoding === "PlainText") {
    script = content;
    if (Buffer.from(content, "utf8").toString("base64").length > maxContentBase64Bytes)
      throw ecsErrors.contentTooLarge();
  } else {
    throw ecsErrors.contentEncoding();
  }
  const instanceIds = params.list("InstanceId");
  if (instanceIds.length === 0) throw gatewayErrors.missingParameter("InstanceId.N");
  if (instanceIds.length > 100 || new Set(instanceIds).size !== instanceIds.length)
    throw ecsErrors.instanceCount();
  const timeoutText = params.optional("Timeout");
  let timeoutSeconds = 60;
  if (timeoutText !== undefined) {
    if (!/^\d+$/.test(timeoutText)) throw ecsErrors.timeout();
    timeoutSeconds = Number(timeoutText);
    if (timeoutSeconds < 10 || timeoutSeconds > 86_400) throw ecsErrors.timeout();
  }
  const enableParameter = params.boolean("EnableParameter") ?? false;
  const rawParameters = params.jsonObject("Parameters");
  if (rawParameters !== undefined && Object.keys(rawParameters).length > 0 && !enableParameter) {
    throw ecsErrors.parametersDisabled();
  }
  const parameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawParameters ?? {})) {
    if (typeof value !== "string")
      throw gatewayErrors.invalidParameter("Parameters", "Values must be strings.");
    parameters[name] = value;
  }
  const clientToken = params.optional("ClientToken");
  if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]+$/.test(clientToken))) {
    throw ecsErrors.clientTokenMalformed();
  }
  const ids = backend.runCommand({
    accountId: call.caller.accountId,
    regionId,
    type,
    script,
    enableParameter,
    parameters,
    instanceIds,
    timeoutSeconds,
    username: params.optional("Username"),
    workingDir: params.optional("WorkingDir"),
    name: params.optional("Name"),
    description: params.optional("Description"),
    clientToken,
  });
  return { CommandId: ids.commandId, InvokeId: ids.invokeId };
}

function describeInvocations(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const { params } = call;
  const regionId = requireRegion(call);
  const invokeId = params.optional("InvokeId");
  const commandId = params.optional("CommandId");
  const instanceId = params.optional("InstanceId");
  const commandType = params.optional("CommandType");
  const invokeStatus = params.optional("InvokeStatus");
  const includeOutput = params.boolean("IncludeOutput") ?? false;
  const encoding = outputEncoding(params);
  const matching = backend
    .invocationsIn(call.caller.accountId, regionId)
    .filter(
      (invocation) =>
        (invokeId === undefined || invocation.invokeId === invokeId) &&
        (commandId === undefined || invocation.commandId === commandId) &&
        (commandType === undefined || invocation.type === commandType) &&
        (instanceId === undefined || invocation.results.some((result) => result.instanceId === instanceId)) &&
        (invokeStatus === undefined || overallStatus(invocation.results) === invokeStatus),
    );
  const query = { regionId, invokeId, commandId, instanceId, commandType, invokeStatus };
  const page = pageByToken(matching, maxResults(params, 50, 10), params.optional("NextToken"), query);
  return {
    Invocations: {
      Invocation: page.items.map((invocation) => invocationJson(invocation, includeOutput, encoding)),
    },
    TotalCount: page.totalCount,
    NextToken: page.nextToken,
    PageSize: page.items.length,
    PageNumber: 1,
  };
}

function describeInvocationResults(backend: EcsBackend, call: RpcInvocation): Record<string, unknown> {
  const { params } = call;
  const regionId = requireRegion(call);
  const invokeId = params.optional("InvokeId");
  const commandId = params.optional("CommandId");
  const instanceId = params.optional("InstanceId");
  const recordStatus = params.optional("InvokeRecordStatus");
  const encoding = outputEncoding(params);
  const rows = backend
    .invocationsIn(call.caller.accountId, regionId)
    .filter(
      (invocation) =>
        (invokeId === undefined || invocation.invokeId === invokeId) &&
        (commandId === undefined || invocation.commandId === commandId),
    )
    .flatMap((invocation) =>
      invocation.results
        .filter((result) => instanceId === undefined || result.instanceId === instanceId)
        .map((result) => invocationResultJson(invocation, result, encoding)),
    )
    .filter((row) => recordStatus === undefined || row.InvokeRecordStatus === recordStatus);
  const query = { regionId, invokeId, commandId, instanceId, recordStatus };
  const page = pageByToken(rows, maxResults(params, 50, 10), params.optional("NextToken"), query);
  return {
    Invocation: {
      InvocationResults: { InvocationResult: page.items },
      TotalCount: page.totalCount,
      NextToken: page.nextToken,
      PageSize: page.items.length,
      PageNumber: 1,
    },
  };
}

function callerContext(call: RpcInvocation, regionId: string) {
  return {
    accountId: call.caller.accountId,
    regionId,
    callerArn: call.caller.arn,
    requestId: call.requestId,
  };
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}
