import type Sls from "@alicloud/sls20201230";
import * as $Sls from "@alicloud/sls20201230";
import { createSlsService, type SlsService } from "../../emulator/sls";
import { type Harness, serveService } from "./serviceHarness";
import { accountA, accountB, permanentKey, region, slsClient, slsFailure } from "./slsTestKit";

// Source (spoke) account B holds the source project; destination (hub) account A the sink.
const sourceProject = "spoke-logs";
const sinkProject = "hub-logs";
const readRole = `acs:ram::${accountB.accountId}:role/logtail-xacct-read`;
const writeRole = `acs:ram::${accountA.accountId}:role/logtail-xacct-write`;

let harness: Harness<SlsService>;
let spoke: Sls;

beforeAll(async () => {
  harness = await serveService(createSlsService, [permanentKey(accountA), permanentKey(accountB)]);
  spoke = slsClient(harness.port, accountB);
});

afterAll(async () => {
  await harness.close();
});

beforeEach(async () => {
  harness.service.reset();
  const hub = slsClient(harness.port, accountA);
  await hub.createProject(new $Sls.CreateProjectRequest({ projectName: sinkProject, description: "" }));
  await hub.createLogStore(
    sinkProject,
    new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 30, shardCount: 2 }),
  );
  await spoke.createProject(new $Sls.CreateProjectRequest({ projectName: sourceProject, description: "" }));
  await spoke.createLogStore(
    sourceProject,
    new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 30, shardCount: 2 }),
  );
});

function copyJob(
  name: string,
  options: { fromTime: number; toTime: number; roleArn?: string; sinkRoleArn?: string },
) {
  return new $Sls.CreateETLRequest({
    name,
    displayName: `copy ${name}`,
    description: "backfill",
    configuration: new $Sls.ETLConfiguration({
      script: "*",
      lang: "SPL",
      logstore: "app",
      roleArn: options.roleArn ?? readRole,
      fromTime: options.fromTime,
      toTime: options.toTime,
      parameters: {},
      sinks: [
        new $Sls.ETLConfigurationSink({
          name: "hub",
          project: sinkProject,
          logstore: "app",
          endpoint: `${region}.log.aliyuncs.com`,
          roleArn: options.sinkRoleArn ?? writeRole,
          datasets: ["__UNNAMED__"],
        }),
      ],
    }),
  });
}

async function status(name: string): Promise<string | undefined> {
  return (await spoke.getETL(sourceProject, name)).body?.status;
}

describe("ETL copy jobs", () => {
  it("moves a bounded copy STARTING → RUNNING → SUCCEEDED as emulator time passes", async () => {
    const settings = harness.service.backend.settings;
    await spoke.createETL(
      sourceProject,
      copyJob("backfill-1", { fromTime: 1_700_000_000, toTime: 1_700_003_600 }),
    );
    const got = await spoke.getETL(sourceProject, "backfill-1");
    expect(got.body).toMatchObject({
      name: "backfill-1",
      displayName: "copy backfill-1",
      status: "STARTING",
    });
    expect(got.body?.configuration?.sinks?.[0]?.roleArn).toBe(writeRole);

    harness.clock.advance(settings.etlStartingMs);
    expect(await status("backfill-1")).toBe("RUNNING");
    harness.clock.advance(settings.etlMinRunMs);
    expect(await status("backfill-1")).toBe("SUCCEEDED");
  });

  it("keeps an open-ended job (toTime 0) RUNNING", async () => {
    await spoke.createETL(sourceProject, copyJob("follow", { fromTime: 1_700_000_000, toTime: 0 }));
    harness.clock.advance(24 * 3_600_000);
    expect(await status("follow")).toBe("RUNNING");
  });

  it("fails a job whose role ARN is malformed or belongs to the wrong account", async () => {
    await spoke.createETL(
      sourceProject,
      copyJob("bad-arn", { fromTime: 1, toTime: 2, roleArn: "acs:ram::role/x" }),
    );
    await spoke.createETL(
      sourceProject,
      copyJob("wrong-owner", { fromTime: 1, toTime: 2, sinkRoleArn: readRole }),
    );
    harness.clock.advance(harness.service.backend.settings.etlStartingMs);
    expect(await status("bad-arn")).toBe("FAILED");
    expect(await status("wrong-owner")).toBe("FAILED");
  });

  it("stops, restarts, lists and deletes jobs", async () => {
    const settings = harness.service.backend.settings;
    await spoke.createETL(sourceProject, copyJob("job-a", { fromTime: 1, toTime: 0 }));
    await spoke.stopETL(sourceProject, "job-a");
    expect(await status("job-a")).toBe("STOPPING");
    harness.clock.advance(settings.etlStoppingMs);
    expect(await status("job-a")).toBe("STOPPED");
    await spoke.startETL(sourceProject, "job-a");
    expect(await status("job-a")).toBe("STARTING");

    const listed = await spoke.listETLs(
      sourceProject,
      new $Sls.ListETLsRequest({ logstore: "app", offset: 0, size: 10 }),
    );
    expect(listed.body?.total).toBe(1);
    expect(listed.body?.results?.[0]?.name).toBe("job-a");

    expect(
      await slsFailure(spoke.createETL(sourceProject, copyJob("job-a", { fromTime: 1, toTime: 0 }))),
    ).toMatchObject({ code: "JobAlreadyExist", statusCode: 400 });
    await spoke.deleteETL(sourceProject, "job-a");
    expect(await slsFailure(spoke.getETL(sourceProject, "job-a"))).toMatchObject({
      code: "JobNotExist",
      statusCode: 404,
    });
  });
});

describe("copy-job roles: the trust a job needs to assume them", () => {
  // A third account, with its own project, tries to borrow the hub's write role.
  const intruder = { accountId: "3333333333333333", accessKeyId: "LTAI-C", accessKeySecret: "secret-c" };
  const intruderRead = `acs:ram::${intruder.accountId}:role/logtail-xacct-read`;
  const trust: Record<string, string[]> = {
    [`${accountB.accountId}/logtail-xacct-read`]: ["log.aliyuncs.com"],
    [`${intruder.accountId}/logtail-xacct-read`]: ["log.aliyuncs.com"],
    // What `logtail-xacct policies` makes: the write role trusts the copying source account only.
    [`${accountA.accountId}/logtail-xacct-write`]: [`${accountB.accountId}@log.aliyuncs.com`],
    [`${accountB.accountId}/untrusting-read`]: [],
  };

  beforeEach(async () => {
    harness.addKey(permanentKey(intruder));
    harness.service.backend.useRoles({
      getRole: (accountId, roleName) => {
        const services = trust[`${accountId}/${roleName.toLowerCase()}`];
        return services === undefined ? undefined : { trustedServices: services };
      },
    });
    const client = slsClient(harness.port, intruder);
    await client.createProject(
      new $Sls.CreateProjectRequest({ projectName: "intruder-logs", description: "" }),
    );
    await client.createLogStore(
      "intruder-logs",
      new $Sls.CreateLogStoreRequest({ logstoreName: "app", ttl: 30, shardCount: 2 }),
    );
  });

  afterEach(() => {
    harness.service.backend.useRoles(undefined);
  });

  it("fails a job of another account that writes through a role trusting only the source account", async () => {
    const client = slsClient(harness.port, intruder);
    await client.createETL(
      "intruder-logs",
      copyJob("borrowed-write", { fromTime: 1, toTime: 0, roleArn: intruderRead }),
    );
    harness.clock.advance(harness.service.backend.settings.etlStartingMs);

    expect((await client.getETL("intruder-logs", "borrowed-write")).body?.status).toBe("FAILED");
    const etl = harness.service.backend.getEtl(
      { accountId: intruder.accountId, region, action: "GetETL" },
      "intruder-logs",
      "borrowed-write",
    );
    expect(harness.service.backend.etlFailure(etl)).toBe(
      `sink hub: role ${writeRole} does not trust ${intruder.accountId}@log.aliyuncs.com: the job cannot assume it`,
    );
  });

  it("runs the same job from the source account the role trusts", async () => {
    await spoke.createETL(sourceProject, copyJob("trusted", { fromTime: 1, toTime: 0 }));
    harness.clock.advance(harness.service.backend.settings.etlStartingMs);
    expect(await status("trusted")).toBe("RUNNING");
  });

  it("fails a job whose read role does not trust log.aliyuncs.com", async () => {
    await spoke.createETL(
      sourceProject,
      copyJob("untrusted-read", {
        fromTime: 1,
        toTime: 0,
        roleArn: `acs:ram::${accountB.accountId}:role/untrusting-read`,
      }),
    );
    harness.clock.advance(harness.service.backend.settings.etlStartingMs);
    expect(await status("untrusted-read")).toBe("FAILED");
  });

  it("takes a role the directory does not know to trust the job (fleets need not declare every role)", async () => {
    await spoke.createETL(
      sourceProject,
      copyJob("undeclared", {
        fromTime: 1,
        toTime: 0,
        sinkRoleArn: `acs:ram::${accountA.accountId}:role/other`,
      }),
    );
    harness.clock.advance(harness.service.backend.settings.etlStartingMs);
    expect(await status("undeclared")).toBe("RUNNING");
  });
});
