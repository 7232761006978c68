/**
 * authorize — woken by ECS tag-change and instance-state events (EventBridge). Thin: decode the FC
 * event, parse it tolerantly, drop duplicates, and hand the named instances to the authorize step.
 * A malformed or foreign event is logged with its reason and never retried; a cloud error that is
 * retryable is thrown, so the trigger's retry rule redelivers the event.
 */
import { decodeFcEvent } from "../../shared/events/fcEvent";
import { parseInstanceEvent } from "../../shared/events/instanceEvents";
import { authorizeInstances } from "../../shared/usecases/authorizeInstances";
import { type FcContextLike, logFailures, withWiring } from "../common/wiring";

/** Event ids seen by this warm instance: EventBridge delivers at least once. */
const seen = new Set<string>();
const SEEN_LIMIT = 10_000;

export async function handler(
  event: Buffer,
  context: FcContextLike & Record<string, unknown>,
): Promise<string> {
  return withWiring(context, "authorize", async ({ config, log, steps }) => {
    // Poison: kept in the dead-letter queue with the reason, never retried.
    const deadLetter = (detail: string) =>
      steps.deadLetter({
        source: "event",
        reason: "MalformedEvent",
        detail,
        original: event.toString("utf8"),
      });
    const decoded = decodeFcEvent(event);
    if (!decoded.ok) {
      log({ action: "authorize", outcome: "rejected", reason: decoded.reason });
      await deadLetter(decoded.reason);
      return "rejected";
    }
    const parsed = parseInstanceEvent(decoded.value, {
      tagKey: config.tagKey,
      statusTagKey: config.statusTagKey,
    });
    if (parsed.kind !== "observe") {
      log({ action: "authorize", outcome: parsed.kind, reason: parsed.reason, dedupeKey: parsed.dedupeKey });
      // Ignored events (another API call, only the status tag) are expected; a rejected one is poison.
      if (parsed.kind === "rejected") await deadLetter(parsed.reason);
      return parsed.kind;
    }
    if (seen.has(parsed.dedupeKey)) {
      log({ action: "authorize", outcome: "duplicate", dedupeKey: parsed.dedupeKey });
      return "duplicate";
    }
    const outcome = await logFailures(log, "authorize", () =>
      authorizeInstances(steps, {
        accountId: parsed.accountId,
        region: parsed.region,
        instanceIds: parsed.instanceIds,
      }),
    );
    // Remembered only once handled: a failed attempt must be retried, not deduplicated away.
    if (seen.size >= SEEN_LIMIT) seen.clear();
    seen.add(parsed.dedupeKey);
    log({
      action: "authorize",
      outcome: "done",
      accountId: parsed.accountId,
      region: parsed.region,
      attributedBy: parsed.attributedBy,
      instances: outcome.statuses.size,
      commands: outcome.commands,
    });
    return "done";
  });
}
