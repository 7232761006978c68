/**
 * reconcile — timer. Thin: with the hub's snapshot bucket, fan the period out (one message per
 * source account on the apply queue, whose consumers observe, plan and act per account); without
 * it, reconcile the whole fleet in this run, its host commands handed to the apply queue.
 */
import { reconcile } from "../../shared/usecases/reconcile";
import { fanOutReconcile } from "../../shared/usecases/reconcileShards";
import { type FcContextLike, logFailures, withWiring } from "../common/wiring";

export async function handler(
  _event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  return withWiring(context, "reconcile", async ({ steps, log }) => {
    if (steps.snapshots !== undefined) {
      const fanned = await logFailures(log, "reconcile", () => fanOutReconcile(steps));
      return JSON.stringify(fanned);
    }
    const outcome = await logFailures(log, "reconcile", () => reconcile(steps, { hostWork: "queue" }));
    return JSON.stringify(outcome.executed);
  });
}
