/**
 * One delivered apply batch on port fakes: a route that fails is sent again or dead-lettered on its
 * own while the others are applied, our own throttle deferrals and a run out of time cost no try,
 * and the consumer dead-letters a message itself at the queue's limit.
 */
import { copyJobName } from "../../../shared/domain/copyJob";
import {
  type ApplyMessage,
  type HostWorkMessage,
  HUB_QUEUES,
  MAX_RECEIVE_COUNT,
  type WatchCopyJobMessage,
} from "../../../shared/messages/queueMessages";
import { afterFailure, deliveredTooOften, retryDelaySeconds } from "../../../shared/messages/requeue";
import { DEFERRED_CODE } from "../../../shared/ports/errors";
import { APPLY_START_BUDGET_MS, applyBatch } from "../../../shared/usecases/applyBatch";
import {
  APP_B,
  cloudError,
  type FakeCloud,
  fakeCloud,
  instance,
  PAYMENTS,
  REGION,
  tags,
  type UseCaseDeps,
  useCaseDeps,
} from "../../support/fakes";

const APPLY = HUB_QUEUES.apply;
const APP_B_IDS = ["i-bp1batch00001", "i-bp1batch00002"];
const PAYMENTS_IDS = ["i-bp1batch00003"];

let cloud: FakeCloud;
let deps: UseCaseDeps;

const apply = (
  accountId: string,
  instanceIds: string[],
  fields: Partial<ApplyMessage> = {},
): ApplyMessage => ({
  v: 1,
  type: "apply",
  accountId,
  region: REGION,
  route: accountId === APP_B ? "app-b-prod" : "payments-prod",
  instanceIds,
  ...fields,
});
const watch: WatchCopyJobMessage = {
  v: 1,
  type: "watch-copy-job",
  accountId: APP_B,
  region: REGION,
  route: "app-b-prod",
  checks: 2,
};
const sentAgain = () =>
  cloud.queue.sent(APPLY).flatMap((m) => (m.ok ? [{ ...m.message, delay: m.delaySeconds }] : []));
/** The fake ECS of an account answers every DescribeInstances with this error from now on. */
const failDescribe = (accountId: string, error: Error) => {
  cloud.ecs({ accountId, region: REGION }).fns.describeInstances = async () => {
    throw error;
  };
};

beforeEach(() => {
  cloud = fakeCloud();
  deps = useCaseDeps(cloud);
  cloud.add(...APP_B_IDS.map((id) => instance(id, { tags: tags("app-b-prod", "authorized") })));
  cloud.add(
    ...PAYMENTS_IDS.map((id) =>
      instance(id, { accountId: PAYMENTS, tags: tags("payments-prod", "authorized") }),
    ),
  );
});

describe("what a consumer does with a message whose work failed", () => {
  test("a retryable failure comes back after 30 s, 60 s, … at most 15 minutes, ten tries in all", () => {
    const delays: number[] = [];
    let failed = 0;
    for (;;) {
      const next = afterFailure("retryable", failed);
      if (next.kind !== "requeue") {
        expect(next).toEqual({ kind: "dead-letter", reason: "RetriesExhausted" });
        break;
      }
      delays.push(next.delaySeconds);
      failed = next.failedAttempts;
    }
    expect(delays).toEqual([30, 60, 120, 240, 480, 900, 900, 900, 900]);
    expect(delays.length + 1).toBe(MAX_RECEIVE_COUNT);
    expect(retryDelaySeconds(0)).toBe(30);
  });

  test("a deferral costs no try; a permanent failure is dead-lettered at once", () => {
    expect(afterFailure("deferred", 4)).toEqual({ kind: "requeue", failedAttempts: 4, delaySeconds: 60 });
    expect(afterFailure("permanent", 0)).toEqual({ kind: "dead-letter", reason: "PermanentFailure" });
  });

  test("a message delivered more often than the dead-letter policy allows is the consumer's to move", () => {
    expect(deliveredTooOften(MAX_RECEIVE_COUNT)).toBe(false);
    expect(deliveredTooOften(MAX_RECEIVE_COUNT + 1)).toBe(true);
  });
});

describe("an apply batch settles each route on its own", () => {
  test("one route's retryable failure: that route is sent again, the other applied, none dead-lettered", async () => {
    failDescribe(PAYMENTS, cloudError("ServiceUnavailable", { retryable: true }));

    const outcome = await applyBatch(deps, {
      applies: [apply(APP_B, APP_B_IDS), apply(PAYMENTS, PAYMENTS_IDS)],
      watches: [],
    });

    expect(outcome).toEqual({ applied: 1, watched: 0, hostRuns: 0, requeued: 1, deadLettered: 0 });
    expect(sentAgain()).toEqual([{ ...apply(PAYMENTS, PAYMENTS_IDS), failedAttempts: 1, delay: 30 }]);
    expect(cloud.deadLetters).toEqual([]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({ action: "apply", outcome: "failed", reason: "ServiceUnavailable" }),
    );
  });

  test("the tenth failed try is dead-lettered by the consumer with the last error", async () => {
    failDescribe(PAYMENTS, cloudError("ServiceUnavailable", { retryable: true }));
    const tired = apply(PAYMENTS, PAYMENTS_IDS, { failedAttempts: MAX_RECEIVE_COUNT - 1 });

    const outcome = await applyBatch(deps, { applies: [tired], watches: [] });

    expect(outcome).toEqual({ applied: 0, watched: 0, hostRuns: 0, requeued: 0, deadLettered: 1 });
    expect(sentAgain()).toEqual([]);
    expect(cloud.deadLetters).toEqual([
      expect.objectContaining({
        source: APPLY,
        reason: "RetriesExhausted",
        detail: expect.stringMatching(/^ServiceUnavailable: /),
        original: JSON.stringify(tired),
      }),
    ]);
  });

  test("a permanent failure is dead-lettered at once; the batch's other route is still applied", async () => {
    failDescribe(APP_B, cloudError("Forbidden.RAM", { retryable: false, message: "role refused" }));

    const outcome = await applyBatch(deps, {
      applies: [apply(APP_B, APP_B_IDS), apply(PAYMENTS, PAYMENTS_IDS)],
      watches: [],
    });

    expect(outcome).toEqual({ applied: 1, watched: 0, hostRuns: 0, requeued: 0, deadLettered: 1 });
    expect(cloud.deadLetters).toEqual([
      expect.objectContaining({ reason: "PermanentFailure", detail: "Forbidden.RAM: role refused" }),
    ]);
  });

  test("our own throttle's deferral is sent again in a minute without counting a try", async () => {
    failDescribe(APP_B, cloudError(DEFERRED_CODE, { retryable: true }));

    await applyBatch(deps, { applies: [apply(APP_B, APP_B_IDS, { failedAttempts: 3 })], watches: [] });

    expect(sentAgain()).toEqual([{ ...apply(APP_B, APP_B_IDS), failedAttempts: 3, delay: 60 }]);
  });

  test("with too little time left nothing is started: the work is sent again, no try counted", async () => {
    const ecsCalls = () => cloud.ecs({ accountId: APP_B, region: REGION }).calls.length;
    const before = ecsCalls();
    const late = useCaseDeps(cloud, { deadline: () => cloud.clock.now() + APPLY_START_BUDGET_MS - 1 });

    const outcome = await applyBatch(late, { applies: [apply(APP_B, APP_B_IDS)], watches: [watch] });

    expect(outcome).toEqual({ applied: 0, watched: 0, hostRuns: 0, requeued: 2, deadLettered: 0 });
    expect(ecsCalls()).toBe(before);
    expect(sentAgain()).toEqual([
      { ...watch, delay: 60 },
      { ...apply(APP_B, APP_B_IDS), delay: 60 },
    ]);
    expect(cloud.deadLetters).toEqual([]);
  });

  test("a try that succeeds starts the next one's count again", async () => {
    const source = cloud.sls({ accountId: APP_B, region: REGION, project: "app-b-logs" });
    source.projectExists = true;
    source.etls.set(copyJobName("logtail-xacct", "app-b-prod", APP_B), {
      name: copyJobName("logtail-xacct", "app-b-prod", APP_B),
      displayName: "copy",
      status: "RUNNING",
      logstore: "app-b",
      fromTime: Date.parse("2026-01-01T00:00:00Z") / 1000,
      script: "*",
      toTime: Date.parse("2026-04-01T00:00:00Z") / 1000,
      sinks: [{ name: "destination", project: "central-logs", logstore: "app-b" }],
    });

    const outcome = await applyBatch(deps, {
      applies: [],
      watches: [{ ...watch, failedAttempts: 5 }],
    });

    expect(outcome.watched).toBe(1);
    expect(sentAgain()).toEqual([{ ...watch, checks: 3, delay: 480 }]);
  });
});

describe("host work reconcile handed out", () => {
  const hostWork = (accountId: string, instanceIds: string[], fields: Partial<HostWorkMessage> = {}) =>
    ({
      v: 1,
      type: "host-work",
      accountId,
      region: REGION,
      requests: [
        {
          kind: "authorize",
          route: accountId === APP_B ? "app-b-prod" : "payments-prod",
          os: "linux",
          instanceIds,
        },
      ],
      ...fields,
    }) satisfies HostWorkMessage;

  test("its commands run and the hosts' statuses are written, as authorize does for an event", async () => {
    for (const id of APP_B_IDS) {
      const record = cloud.record(id);
      if (record) record.tags = tags("app-b-prod", "pending");
    }

    const outcome = await applyBatch(deps, {
      applies: [],
      watches: [],
      hostWork: [hostWork(APP_B, APP_B_IDS)],
    });

    expect(outcome).toEqual({ applied: 0, watched: 0, hostRuns: 1, requeued: 0, deadLettered: 0 });
    expect(
      cloud
        .ecs({ accountId: APP_B, region: REGION })
        .commandsRun("authorize")
        .flatMap((c) => c.instanceIds),
    ).toEqual(APP_B_IDS);
    expect(APP_B_IDS.map((id) => cloud.status(id))).toEqual(["authorized", "authorized"]);
  });

  test("a failing account's host work is sent again alone; the other account's runs", async () => {
    failDescribe(PAYMENTS, cloudError("ServiceUnavailable", { retryable: true }));
    for (const id of APP_B_IDS) {
      const record = cloud.record(id);
      if (record) record.tags = tags("app-b-prod", "pending");
    }

    const outcome = await applyBatch(deps, {
      applies: [],
      watches: [],
      hostWork: [hostWork(PAYMENTS, PAYMENTS_IDS), hostWork(APP_B, APP_B_IDS)],
    });

    expect(outcome).toMatchObject({ hostRuns: 1, requeued: 1, deadLettered: 0 });
    expect(sentAgain()).toEqual([{ ...hostWork(PAYMENTS, PAYMENTS_IDS), failedAttempts: 1, delay: 30 }]);
    expect(APP_B_IDS.map((id) => cloud.status(id))).toEqual(["authorized", "authorized"]);
    expect(cloud.logs).toContainEqual(
      expect.objectContaining({
        action: "host-work",
        outcome: "failed",
        accountId: PAYMENTS,
        instanceIds: PAYMENTS_IDS,
        reason: "ServiceUnavailable",
      }),
    );
  });
});
