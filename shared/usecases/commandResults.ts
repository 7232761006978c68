/**
 * Waiting for a Cloud Assistant invocation. The host script takes seconds (an agent restart), so
 * the first look comes after 5 s and each later one waits twice as long: a 100-instance command
 * usually costs one or two reads, and a slow one at most five before it is left to a later look.
 */
import type { EcsPort, InvocationResult } from "../ports/ecs";
import type { StepDeps } from "./stepDeps";

/** The clock, its waits and the limits of a result wait; `deadline`: when the run must be done. */
export type ResultWaitDeps = Pick<StepDeps, "now" | "sleep" | "resultPollMs" | "resultWaitMs" | "deadline">;

/** How long a command's results are waited for by default (ms). */
export const DEFAULT_RESULT_WAIT_MS = 90_000;

export async function waitForInvocation(
  deps: ResultWaitDeps,
  ecs: EcsPort,
  invokeId: string,
): Promise<InvocationResult[]> {
  const first = deps.resultPollMs ?? 5000;
  const giveUpAt = Math.min(
    deps.now() + (deps.resultWaitMs ?? DEFAULT_RESULT_WAIT_MS),
    deps.deadline?.() ?? Infinity,
  );
  let wait = first;
  for (;;) {
    await deps.sleep(Math.max(0, Math.min(wait, giveUpAt - deps.now())));
    const results = await ecs.invocationResults(invokeId);
    if (results.finished || deps.now() >= giveUpAt) return results.results;
    wait *= 2;
  }
}
