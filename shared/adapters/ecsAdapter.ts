/** EcsPort on `@alicloud/ecs20140526`, for one account and region. */
import { createHash } from "node:crypto";
import type Ecs from "@alicloud/ecs20140526";
import * as $Ecs from "@alicloud/ecs20140526";
import type { RenderedHostCommand } from "../hostscript/hostCommand";
import type { CredentialsPort } from "../ports/credentials";
import type {
  AccountRegion,
  CommandInvocation,
  EcsPort,
  InstanceFilter,
  InstanceRecord,
  InvocationResult,
  InvocationResults,
  RunCommandOptions,
} from "../ports/ecs";
import { chunk } from "./batching";
import { type CallPolicy, cloudCall } from "./cloudCall";
import { CloudError } from "./cloudError";
import type { SdkClients } from "./sdkClients";

/** API limits (ALIBABA-FACTS.md). */
export const ECS_LIMITS = {
  describeInstancesPage: 100,
  instanceIdsPerDescribe: 100,
  cloudAssistantIdsPerCall: 50,
  tagResourcesPerCall: 50,
  runCommandInstances: 100,
} as const;

/** Invocation statuses that can still change. */
const UNFINISHED_STATUSES = new Set(["Pending", "Running", "Scheduled", "Stopping"]);

export interface EcsAdapterDependencies {
  clients: SdkClients;
  credentials: CredentialsPort;
  policy: CallPolicy;
}

export class EcsAdapter implements EcsPort {
  constructor(
    readonly scope: AccountRegion,
    private readonly deps: EcsAdapterDependencies,
  ) {}

  async describeInstances(filter: InstanceFilter = {}): Promise<InstanceRecord[]> {
    if ("instanceIds" in filter) {
      const records: InstanceRecord[] = [];
      for (const ids of chunk([...new Set(filter.instanceIds)], ECS_LIMITS.instanceIdsPerDescribe)) {
        records.push(...(await this.describeAllPages({ instanceIds: JSON.stringify(ids) })));
      }
      return records;
    }
    if ("tagKey" in filter && typeof filter.tagKey === "string") {
      const tag = new $Ecs.DescribeInstancesRequestTag({ key: filter.tagKey, value: filter.tagValue });
      return this.describeAllPages({ tag: [tag] });
    }
    return this.describeAllPages({});
  }

  async cloudAssistantStatus(instanceIds: readonly string[]): Promise<Map<string, boolean>> {
    const online = new Map<string, boolean>();
    for (const ids of chunk([...new Set(instanceIds)], ECS_LIMITS.cloudAssistantIdsPerCall)) {
      let nextToken: string | undefined;
      do {
        const token = nextToken;
        const response = await this.call("DescribeCloudAssistantStatus", (ecs) =>
          ecs.describeCloudAssistantStatus(
            new $Ecs.DescribeCloudAssistantStatusRequest({
              regionId: this.scope.region,
              instanceId: ids,
              maxResults: ECS_LIMITS.cloudAssistantIdsPerCall,
              nextToken: token,
            }),
          ),
        );
        const statuses = response.body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus ?? [];
        for (const status of statuses) {
          if (typeof status.instanceId === "string") {
            online.set(status.instanceId, status.cloudAssistantStatus === "true");
          }
        }
        nextToken = nonEmpty(response.body?.nextToken);
      } while (nextToken !== undefined);
    }
    return online;
  }

  async tagInstances(instanceIds: readonly string[], tags: Readonly<Record<string, string>>): Promise<void> {
    const tagList = Object.entries(tags).map(
      ([key, value]) => new $Ecs.TagResourcesRequestTag({ key, value }),
    );
    if (tagList.length === 0) return;
    for (const ids of chunk([...new Set(instanceIds)], ECS_LIMITS.tagResourcesPerCall)) {
      await this.call("TagResources", (ecs) =>
        ecs.tagResources(
          new $Ecs.TagResourcesRequest({
            regionId: this.scope.region,
            resourceType: "instance",
            resourceId: ids,
            tag: tagList,
          }),
        ),
      );
    }
  }

  async untagInstances(instanceIds: readonly string[], tagKeys: readonly string[]): Promise<void> {
    if (tagKeys.length === 0) return;
    for (const ids of chunk([...new Set(instanceIds)], ECS_LIMITS.tagResourcesPerCall)) {
      await this.call("UntagResources", (ecs) =>
        ecs.untagResources(
          new $Ecs.UntagResourcesRequest({
            regionId: this.scope.region,
            resourceType: "instance",
            resourceId: ids,
            tagKey: [...tagKeys],
          }),
        ),
      );
    }
  }

  async runCommand(
    command: RenderedHostCommand,
    instanceIds: readonly string[],
    options: RunCommandOptions,
  ): Promise<CommandInvocation[]> {
    // Sorted first, so the same set of instances always makes the same batches and tokens.
    const sorted = [...new Set(instanceIds)].sort();
    const invocations: CommandInvocation[] = [];
    for (const ids of chunk(sorted, ECS_LIMITS.runCommandInstances)) {
      const clientToken = runCommandClientToken(command, ids, options.attemptKey);
      const response = await this.call("RunCommand", (ecs) =>
        ecs.runCommand(
          new $Ecs.RunCommandRequest({
            regionId: this.scope.region,
            name: "logtail-xacct",
            type: command.type,
            commandContent: command.commandContent,
            contentEncoding: command.contentEncoding,
            timeout: command.timeoutSeconds,
            instanceId: ids,
            clientToken,
          }),
        ),
      );
      const invokeId = response.body?.invokeId;
      if (typeof invokeId !== "string" || invokeId === "") {
        throw this.malformed("RunCommand", "no InvokeId", response.body?.requestId);
      }
      invocations.push({ invokeId, commandId: response.body?.commandId ?? "", instanceIds: ids });
    }
    return invocations;
  }

  /**
   * One DescribeInvocations call per poll, whatever the number of instances: it carries every
   * instance's status, exit code, error and output (IncludeOutput), where DescribeInvocationResults
   * pages them 50 at a time.
   */
  async invocationResults(invokeId: string): Promise<InvocationResults> {
    const response = await this.call("DescribeInvocations", (ecs) =>
      ecs.describeInvocations(
        new $Ecs.DescribeInvocationsRequest({
          regionId: this.scope.region,
          invokeId,
          includeOutput: true,
          contentEncoding: "Base64",
        }),
      ),
    );
    const invocation = response.body?.invocations?.invocation?.find((item) => item.invokeId === invokeId);
    if (invocation === undefined)
      throw this.malformed("DescribeInvocations", `no invocation ${invokeId}`, response.body?.requestId);
    const results: InvocationResult[] = [];
    for (const item of invocation.invokeInstances?.invokeInstance ?? []) {
      if (typeof item.instanceId !== "string") continue;
      const status = item.invocationStatus ?? "Pending";
      results.push({
        instanceId: item.instanceId,
        status,
        finished: !UNFINISHED_STATUSES.has(status),
        ...(typeof item.exitCode === "number" ? { exitCode: item.exitCode } : {}),
        ...(nonEmpty(item.errorCode) === undefined ? {} : { errorCode: item.errorCode }),
        ...(nonEmpty(item.errorInfo) === undefined ? {} : { errorInfo: item.errorInfo }),
        output: Buffer.from(item.output ?? "", "base64").toString("utf8"),
        dropped: item.dropped ?? 0,
      });
    }
    return { invokeId, finished: results.every((result) => result.finished), results };
  }

  private async describeAllPages(
    filter: Pick<$Ecs.DescribeInstancesRequest, "instanceIds" | "tag">,
  ): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const response = await this.call("DescribeInstances", (ecs) =>
        ecs.describeInstances(
          new $Ecs.DescribeInstancesRequest({
            ...filter,
            regionId: this.scope.region,
            maxResults: ECS_LIMITS.describeInstancesPage,
            nextToken: token,
          }),
        ),
      );
      for (const instance of response.body?.instances?.instance ?? []) {
        const record = this.toRecord(instance);
        if (record !== undefined) records.push(record);
      }
      nextToken = nonEmpty(response.body?.nextToken);
    } while (nextToken !== undefined);
    return records;
  }

  private toRecord(
    instance: $Ecs.DescribeInstancesResponseBodyInstancesInstance,
  ): InstanceRecord | undefined {
    if (typeof instance.instanceId !== "string" || instance.instanceId === "") return undefined;
    const ips = [
      ...(instance.vpcAttributes?.privateIpAddress?.ipAddress ?? []),
      ...(instance.networkInterfaces?.networkInterface ?? []).flatMap((nic) => [
        nic.primaryIpAddress,
        ...(nic.privateIpSets?.privateIpSet ?? []).map((set) => set.privateIpAddress),
      ]),
      ...(instance.innerIpAddress?.ipAddress ?? []),
    ].filter((ip): ip is string => typeof ip === "string" && ip !== "");
    const tags: Record<string, string> = {};
    for (const tag of instance.tags?.tag ?? []) {
      if (typeof tag.tagKey === "string") tags[tag.tagKey] = tag.tagValue ?? "";
    }
    return {
      instanceId: instance.instanceId,
      accountId: this.scope.accountId,
      region: this.scope.region,
      os: instance.OSType?.toLowerCase() === "windows" ? "windows" : "linux",
      status: instance.status ?? "",
      serialNumber: instance.serialNumber ?? "",
      privateIps: [...new Set(ips)],
      tags,
    };
  }

  private async call<T>(operation: string, fn: (ecs: Ecs) => Promise<T>): Promise<T> {
    const { accountId, region } = this.scope;
    return cloudCall(this.deps.policy, { service: "ecs", operation, accountId, region }, async () => {
      const credentials = await this.deps.credentials.forAccount(accountId);
      return fn(this.deps.clients.ecs(region, credentials));
    });
  }

  private malformed(operation: string, what: string, requestId: string | undefined): CloudError {
    return new CloudError(`${operation} answered without ${what}`, {
      code: "MalformedResponse",
      service: "ecs",
      operation,
      retryable: false,
      ...(requestId === undefined ? {} : { requestId }),
    });
  }
}

/**
 * ClientToken for RunCommand: the same command, instances and attempt key always give the same
 * token, so a retried call returns the first invocation instead of running the script twice.
 * Hex SHA-256: 64 ASCII characters, the API's maximum.
 */
export function runCommandClientToken(
  command: RenderedHostCommand,
  instanceIds: readonly string[],
  attemptKey: string,
): string {
  return createHash("sha256")
    .update(
      JSON.stringify([
        command.type,
        command.contentEncoding,
        command.timeoutSeconds,
        command.commandContent,
        [...instanceIds].sort(),
        attemptKey,
      ]),
    )
    .digest("hex");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
