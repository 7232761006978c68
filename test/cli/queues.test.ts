/**
 * `logtail-xacct queues`: the deployment makes the hub's queues, the dead-letter policy and the
 * snapshot bucket, idempotently.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";
import { parseSimulatedFleet } from "../../localstack/fleet/simulatedFleet";
import { type LocalStack, startLocalStack } from "../../localstack/stack";
import { snapshotBucketName } from "../../shared/deploy/hubBucket";
import { HUB_QUEUES, MAX_RECEIVE_COUNT } from "../../shared/deploy/hubQueues";
import { WORK_QUEUES } from "../../shared/messages/queueMessages";
import { REGION } from "../support/localAccounts";
import { ACCOUNTS, HUB } from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

const ROUTES = join(__dirname, "../../config/routes.example.yaml");

describeRequiring(sandboxRequirement(), "queues: the hub's queues made by the deployment", () => {
  let stack: LocalStack;
  let workDir: string;
  const run = async () => {
    const io = bufferIo();
    const code = await main(
      ["queues", "--config", ROUTES, "--endpoints-file", join(workDir, "endpoints.json")],
      io,
    );
    return { code, out: io.stdout(), err: io.stderr() };
  };

  beforeAll(async () => {
    workDir = mkdtempSync(join(tmpdir(), "ltx-queues-"));
    stack = await startLocalStack({
      fleet: parseSimulatedFleet({ accounts: ACCOUNTS, instances: [] }),
      hubAccountId: HUB,
      workDir,
      endpointsFile: join(workDir, "endpoints.json"),
      clock: { scale: 0 },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test("creates the four queues, the dead-letter queue first, with the policy on the work queues, then the bucket and its expiry", async () => {
    const { code, out, err } = await run();

    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toEqual([
      `${HUB_QUEUES.deadLetter}  created  (${HUB}, ${REGION})`,
      `${HUB_QUEUES.heartbeat}  created  (${HUB}, ${REGION})`,
      `${HUB_QUEUES.apply}  created  (${HUB}, ${REGION})`,
      `${HUB_QUEUES.reconcile}  created  (${HUB}, ${REGION})`,
      `${snapshotBucketName(HUB, REGION)}  created  (${HUB}, ${REGION}, OSS)`,
      `${snapshotBucketName(HUB, REGION)}/budgets/v1/*  expire after 1 day`,
    ]);
    const bucket = stack.emulator.oss.findBucket(snapshotBucketName(HUB, REGION));
    expect(bucket).toMatchObject({ ownerAccountId: HUB, region: REGION, acl: "private" });
    // The budget leases' objects (one per part won, per key and minute) do not pile up.
    expect(bucket?.lifecycle).toEqual([
      { id: "logtail-xacct-budgets", prefix: "budgets/v1/", status: "Enabled", expirationDays: 1 },
    ]);
    for (const name of WORK_QUEUES) {
      expect(stack.emulator.mns.getQueue(HUB, REGION, name).attributes.dlqPolicy).toEqual({
        enabled: true,
        deadLetterTargetQueue: HUB_QUEUES.deadLetter,
        maxReceiveCount: MAX_RECEIVE_COUNT,
      });
    }
    expect(
      stack.emulator.mns.getQueue(HUB, REGION, HUB_QUEUES.deadLetter).attributes.dlqPolicy,
    ).toBeUndefined();
  });

  test("a second run changes nothing", async () => {
    const { code, out } = await run();

    expect(code).toBe(0);
    expect(out).not.toMatch(/created|updated/);
    expect(out).toContain("budgets/v1/*  expire after 1 day");
    // Four queues and the bucket.
    expect(out.match(/unchanged/g)).toHaveLength(5);
  });
});
