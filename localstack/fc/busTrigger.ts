/**
 * An EventBridge trigger on the account's `default` bus (`eventSourceType: Default`): a rule with
 * the trigger's `eventRuleFilterPattern` whose target is the function. Synchronous triggers let
 * EventBridge retry a failed push (`runOptions.retryStrategy`, BACKOFF_RETRY by default) and then
 * dead-letter it; asynchronous ones (`asyncInvocationType: true`) are accepted at once and retried
 * by FC's async invocation instead. Each event arrives as one CloudEvents object.
 */
import type { LocalEventBridge } from "../eventbridge/localEventBridge";
import { retryStrategyByName } from "../eventbridge/retryStrategies";
import type { CloudEvent, FunctionTarget, RetryStrategy } from "../eventbridge/types";
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
  bridge.putRule({
    ...bus,
    name,
    pattern: trigger.pattern,
    enabled: trigger.enabled,
    targets: [
      functionTarget(invoker, context, track, {
        source: trigger.name,
        async: trigger.asyncInvocation,
        retry: retryStrategyByName(trigger.retry.strategy, trigger.retry.maxRetries),
        ...(trigger.deadLetterArn ? { deadLetterArn: trigger.deadLetterArn } : {}),
      }),
    ],
  });
  return () => bridge.deleteRule({ ...bus, name });
}

export interface FunctionTargetOptions {
  /** What invoked the function, in its logs and dead letters: a trigger's or a rule's name. */
  source: string;
  /** Invoked asynchronously: FC retries, then the function's failure destination. */
  async: boolean;
  retry: RetryStrategy;
  /** EventBridge's dead-letter queue of the target: where a push that failed past its retries goes. */
  deadLetterArn?: string;
}

/**
 * A function as an EventBridge target: synchronously, a failed invocation fails the push (EventBridge
 * retries it, then dead-letters); asynchronously, the push succeeds at once and FC retries on its own.
 */
export function functionTarget(
  invoker: FunctionInvoker,
  context: AsyncContext,
  track: (work: Promise<void>) => void,
  options: FunctionTargetOptions,
): FunctionTarget {
  const deliver = async (event: CloudEvent): Promise<void> => {
    const payload = Buffer.from(JSON.stringify(event));
    if (options.async) {
      const failed = invoker.spec.asyncFailureDestination ?? options.deadLetterArn;
      track(invokeAsync(invoker, payload, options.source, context, failed));
      return;
    }
    const result = await invoker.invoke(payload, options.source);
    if (!result.ok)
      throw result.error instanceof Error ? result.error : new Error(describeError(result.error));
  };
  return {
    kind: "function",
    id: `fc-${invoker.spec.name}`,
    deliver,
    retry: options.retry,
    deadLetter: (event, error) =>
      context.deadLetter({
        function: invoker.spec.name,
        trigger: options.source,
        event: Buffer.from(JSON.stringify(event)),
        error: describeError(error),
        ...(options.deadLetterArn ? { arn: options.deadLetterArn } : {}),
      }),
  };
}
