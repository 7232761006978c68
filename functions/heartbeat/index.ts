/**
 * heartbeat — timer, every minute. Thin: run the heartbeat step over the queue. A retryable cloud
 * error is thrown (the next tick and the messages' redelivery recover); the messages it could not
 * finish stay on the queue.
 */
import { checkHeartbeats } from "../../shared/usecases/checkHeartbeats";
import { type FcContextLike, logFailures, withWiring } from "../common/wiring";

export async function handler(
  _event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  return withWiring(context, "heartbeat", async ({ steps, log }) => {
    const outcome = await logFailures(log, "heartbeat", () => checkHeartbeats(steps));
    log({ action: "heartbeat", outcome: "done", ...outcome });
    return JSON.stringify(outcome);
  });
}
