/**
 * reconcile — timer. Thin: wire the adapters and run the reconcile step: observe every source
 * account and region and every route, plan, and hand the actions to authorize, the heartbeat queue,
 * the apply queue and the status tags.
 */
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { reconcile } from "../../shared/usecases/reconcile";
import { type FcContextLike, wire } from "../common/wiring";

export async function handler(
  _event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  const { config, adapters, env, log, now } = await wire(context, "reconcile");
  const outcome = await reconcile({
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
  return JSON.stringify(outcome.executed);
}
