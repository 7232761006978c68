/**
 * reconcile — timer. Thin: run the reconcile step: observe every source account and region and
 * every route, plan, and hand the actions to authorize, the heartbeat queue, the apply queue and the
 * status tags.
 */
import { reconcile } from "../../shared/usecases/reconcile";
import { type FcContextLike, logFailures, withWiring } from "../common/wiring";

export async function handler(
  _event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  return withWiring(context, "reconcile", async ({ steps, log }) => {
    const outcome = await logFailures(log, "reconcile", () => reconcile(steps, { hostWork: "queue" }));
    return JSON.stringify(outcome.executed);
  });
}
