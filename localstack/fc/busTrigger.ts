/**
 * An EventBridge trigger on the account's `default` bus (`eventSourceType: Default`): a rule with
 * the trigger's `eventRuleFilterPattern` whose target is the function. Synchronous triggers let
 * EventBridge retry a failed push (`runOptions.retryStrategy`, BACKOFF_RETRY by default) and then
 * dead-letter it; asynchronous ones (`asyncInvocationType: true`) are accepted at once and retried
 * by FC's async invocation instead. Each event arrives as one CloudEvents object.
 */
import type { LocalEventBridge } from "../eventbridge/localEventBridge";
import { retryStrategyByName } from "../eventbridge/retryStrategies";
import type { CloudEvent } from "../eventbridge/types";
import { type AsyncContext, invokeAsync } from "./asyncInvocation";
import { describeError, type FunctionInvoker } from "./functionInvoker";
import type { EventBridgeTriggerSpec } from "./serverlessSpec";

export function ruleName(functionName: string, triggerName: string): string {
  return `fc-${functionName}-${triggerName}`;
}

export function startBusTrigger(
  bridge: LocalEventBridge,
  invoker: FunctionInvoker,
  trigger: EventBridgeTriggerSpec,
  accountId: string,
  context: AsyncContext,
  track: (work: Promise<void>) => void,
): () => void {
  const bus = { accountId, region: invoker.spec.region, busName: "default" };
  const name = ruleName(invoker.spec.name, trigger.name);
  const deliver = async (event: CloudEvent): Promise<void> => {
    const payload = Buffer.from(JSON.stringify(event));
    if (trigger.asyncInvocation) {
      track(invokeAsync(invoker, payload, trigger.name, context, trigger.deadLetterArn));
      return;
    }
    const result = await invoker.invoke(payload, trigger.name);
    if (!result.ok)
      throw result.error instanceof Error ? result.error : new Error(describeError(result.error));
  };
  bridge.putRule({
    ...bus,
    name,
    pattern: trigger.pattern,
    enabled: trigger.enabled,
    targets: [
      {
        kind: "function",
        id: `fc-${invoker.spec.name}`,
        deliver,
        retry: retryStrategyByName(trigger.retry.strategy, trigger.retry.maxRetries),
        deadLetter: (event, error) =>
          context.deadLetter({
            function: invoker.spec.name,
            trigger: trigger.name,
            event: Buffer.from(JSON.stringify(event)),
            error: describeError(error),
            ...(trigger.deadLetterArn ? { arn: trigger.deadLetterArn } : {}),
          }),
      },
    ],
  });
  return () => bridge.deleteRule({ ...bus, name });
}
