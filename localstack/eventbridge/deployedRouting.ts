/**
 * The EventBridge part of a deployment (`eventForwarding` in shared/deploy/policies.ts), installed on
 * the local EventBridge as setup.sh installs it in the cloud: the tool's buses first, then each rule
 * with its targets read from the same `EventTargets` documents the `aliyun` CLI is given. So the local
 * stack's events travel the deployed path, and a wrong document fails here, not first in the cloud.
 */
import type { EventRuleDocuments, EventTarget } from "../../shared/deploy/policies";
import { EventBridgeError } from "./errors";
import type { LocalEventBridge } from "./localEventBridge";
import { retryStrategyByName } from "./retryStrategies";
import type { FunctionTarget, RetryStrategy, RuleTarget } from "./types";

export interface FunctionTargetRequest {
  source: string;
  async: boolean;
  retry: RetryStrategy;
  deadLetterArn?: string;
}

/** The local function `name` as a target; undefined when no such function runs locally. */
export type FunctionTargets = (name: string, request: FunctionTargetRequest) => FunctionTarget | undefined;

export interface InstalledRouting {
  rules: number;
  /** Rules left out because the function they invoke does not run locally. */
  skipped: string[];
}

export function installEventRouting(
  bridge: LocalEventBridge,
  documents: readonly EventRuleDocuments[],
  functions?: FunctionTargets,
): InstalledRouting {
  for (const bus of documents) {
    if (bus.createBus)
      bridge.createEventBus({ accountId: bus.accountId, region: bus.region, busName: bus.eventBusName });
  }
  let rules = 0;
  const skipped: string[] = [];
  for (const bus of documents) {
    for (const rule of bus.rules) {
      const targets = rule.targets.map((target) => localTarget(bus, rule.name, target, functions));
      if (targets.some((target) => target === undefined)) {
        skipped.push(`${bus.accountId}/${bus.region}/${bus.eventBusName}/${rule.name}`);
        continue;
      }
      bridge.putRule({
        accountId: bus.accountId,
        region: bus.region,
        busName: bus.eventBusName,
        name: rule.name,
        pattern: rule.filterPattern,
        targets: targets.filter((target): target is RuleTarget => target !== undefined),
      });
      rules += 1;
    }
  }
  return { rules, skipped };
}

function localTarget(
  bus: EventRuleDocuments,
  rule: string,
  target: EventTarget,
  functions: FunctionTargets | undefined,
): RuleTarget | undefined {
  const params = new Map(target.ParamList.map((param) => [param.ResourceKey, param.Value]));
  const retry = retryStrategyByName(target.PushRetryStrategy);
  const where = `rule ${rule} on ${bus.eventBusName} of ${bus.accountId} in ${bus.region}, target ${target.Id}`;
  if (target.Type === "acs.eventbridge") {
    const anotherAccount = params.get("AccountType") === "AnotherAccount";
    const accountId = anotherAccount ? params.get("AccountId") : bus.accountId;
    const region = params.get("RegionId");
    const busName = params.get("EventBusName");
    if (accountId === undefined || region === undefined || busName === undefined) {
      throw new EventBridgeError(`${where}: AccountId, RegionId and EventBusName are required`);
    }
    const role = params.get("RAMRoleName");
    return {
      kind: "bus",
      id: target.Id,
      accountId,
      region,
      busName,
      retry,
      ...(role ? { roleArn: `acs:ram::${accountId}:role/${role}` } : {}),
    };
  }
  const name = params.get("functionName");
  if (name === undefined) throw new EventBridgeError(`${where}: functionName is required`);
  return functions?.(name, {
    source: `eventbridge rule ${rule}`,
    async: params.get("InvocationType") === "Async",
    retry,
    ...(target.DeadLetterQueue ? { deadLetterArn: target.DeadLetterQueue.Arn } : {}),
  });
}
