/**
 * heartbeat — timer, every minute. Thin: wire the adapters and run the heartbeat step over the
 * queue. A retryable cloud error is thrown (the next tick and the messages' redelivery recover);
 * the messages it could not finish stay on the queue.
 */
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { checkHeartbeats } from "../../shared/usecases/checkHeartbeats";
import { type FcContextLike, wire } from "../common/wiring";

export async function handler(
  _event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  const { config, adapters, env, log, now } = await wire(context, "heartbeat");
  const outcome = await checkHeartbeats({
    config,
    ecs: (scope) => adapters.ecs(scope),
    sls: (scope) => adapters.sls(scope),
    queue: adapters.queue(),
    heartbeatQueue: env.LOGTAIL_XACCT_HEARTBEAT_QUEUE,
    applyQueue: env.LOGTAIL_XACCT_APPLY_QUEUE,
    scripts: readHostScripts(),
    now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log: (line) => log({ ...line }),
  });
  log({ action: "heartbeat", outcome: "done", ...outcome });
  return JSON.stringify(outcome);
}
