/**
 * The RAM authorization each ECS operation needs, from ECS's "RAM authorization" table
 * (api-ecs-2014-05-26-ram): the action `ecs:<Operation>` on the instances it names
 * (`acs:ecs:<region>:<uid>:instance/<id>`, with the instance's tags as `acs:ResourceTag/<key>`), or on
 * `instance/*` when it names none; Cloud Assistant reads also on `command/*`. Tag writes carry the
 * request's tags (`acs:RequestTag/<key>`, `acs:TagKeys`), the keys Alibaba's tag-based authorization
 * uses. Alibaba's own sample for Cloud Assistant conditions RunCommand on `acs:ResourceTag/<key>`.
 */

import {
  type AccessRequest,
  type ConditionContext,
  requestTagContext,
  resourceTagContext,
} from "../core/ram";
import type { RpcInvocation } from "../core/rpc/service";
import type { EcsBackend } from "./backend";
import { tagPairs } from "./protocol";

/** Operations authorized on the instances named by a list parameter. */
const PER_INSTANCE: Readonly<Record<string, string>> = {
  RunCommand: "InstanceId",
  DescribeCloudAssistantStatus: "InstanceId",
  TagResources: "ResourceId",
  UntagResources: "ResourceId",
};

export function ecsRamRequest(backend: EcsBackend, action: string, call: RpcInvocation): AccessRequest {
  const { caller, region, params } = call;
  const instanceArn = (id: string) => `acs:ecs:${region}:${caller.accountId}:instance/${id}`;
  const ramAction = `ecs:${action}`;
  const single = params.optional("InstanceId");
  const listed = PER_INSTANCE[action] === undefined ? [] : params.list(PER_INSTANCE[action]);
  const ids =
    action === "StartInstance" || action === "StopInstance" ? (single === undefined ? [] : [single]) : listed;
  const resources: Array<{ arn: string; context?: ConditionContext }> =
    ids.length === 0
      ? [{ arn: instanceArn("*") }]
      : ids.map((id) => ({ arn: instanceArn(id), context: tagsOf(backend, caller.accountId, id) }));
  if (action === "DescribeInvocations" || action === "DescribeInvocationResults") {
    resources.push({ arn: `acs:ecs:${region}:${caller.accountId}:command/*` });
  }
  if (action === "TagResources") {
    return {
      action: ramAction,
      resources,
      context: requestTagContext(tagPairs(params).map((tag) => ({ key: tag.key, value: tag.value ?? "" }))),
    };
  }
  if (action === "UntagResources") {
    return {
      action: ramAction,
      resources,
      context: requestTagContext(params.list("TagKey").map((key) => ({ key }))),
    };
  }
  return { action: ramAction, resources };
}

/** An instance of the caller's account: its tags; another account's (or none): no keys. */
function tagsOf(backend: EcsBackend, accountId: string, instanceId: string): ConditionContext {
  const instance = backend.getInstance(instanceId);
  if (instance === undefined || instance.accountId !== accountId) return {};
  return resourceTagContext(Object.fromEntries(instance.tags));
}
