import type { StateChangeEvent, TagChangeEvent } from "../../emulator/ecs/index";
import type { EmulatorHandle } from "../../emulator/index";
import { $Ecs, ecsClient, failure, region, spokeA, startTestEmulator } from "./emulatorKit";

let emulator: EmulatorHandle;

beforeAll(async () => {
  emulator = await startTestEmulator();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await emulator.reset();
});

const client = () => ecsClient(emulator, spokeA);

function describeRequest(fields: Partial<$Ecs.DescribeInstancesRequest> = {}) {
  return new $Ecs.DescribeInstancesRequest({ regionId: region, maxResults: 100, ...fields });
}

describe("DescribeInstances", () => {
  test("returns the fields the product matches hosts by", async () => {
    const response = await client().describeInstances(
      describeRequest({ instanceIds: JSON.stringify(["i-spokea0000000000001"]) }),
    );

    const instance = response.body?.instances?.instance?.[0];
    expect(instance).toMatchObject({
      instanceId: "i-spokea0000000000001",
      regionId: region,
      status: "Running",
      OSType: "linux",
      vpcAttributes: { privateIpAddress: { ipAddress: ["10.0.0.11"] } },
      tags: { tag: [{ tagKey: "logtail-xacct-route", tagValue: "web" }] },
    });
    expect(instance?.serialNumber).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(instance?.vpcAttributes?.vpcId).toMatch(/^vpc-/);
  });

  test("filters by tag key and value, by tag key alone, and by status", async () => {
    const byRoute = await client().describeInstances(
      describeRequest({
        tag: [new $Ecs.DescribeInstancesRequestTag({ key: "logtail-xacct-route", value: "web" })],
      }),
    );
    const byTeamKey = await client().describeInstances(
      describeRequest({ tag: [new $Ecs.DescribeInstancesRequestTag({ key: "team" })] }),
    );
    const stopped = await client().describeInstances(describeRequest({ status: "Stopped" }));

    expect(byRoute.body?.instances?.instance?.map((i) => i.instanceId)).toEqual(["i-spokea0000000000001"]);
    expect(byTeamKey.body?.totalCount).toBe(21);
    expect(stopped.body?.instances?.instance?.map((i) => i.instanceId)).toEqual(["i-spokea0000000000002"]);
  });

  test("lists only the requested region", async () => {
    const shanghai = await ecsClient(emulator, spokeA, "cn-shanghai").describeInstances(
      describeRequest({ regionId: "cn-shanghai" }),
    );

    expect(shanghai.body?.instances?.instance?.map((i) => i.instanceId)).toEqual(["i-spokeash0000000001"]);
  });

  test("pages with MaxResults and NextToken without repeats or gaps", async () => {
    const seen: string[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await client().describeInstances(describeRequest({ maxResults: 10, nextToken }));
      for (const instance of page.body?.instances?.instance ?? []) seen.push(instance.instanceId ?? "");
      expect(page.body?.totalCount).toBe(25);
      nextToken = page.body?.nextToken || undefined;
      pages += 1;
    } while (nextToken !== undefined);

    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(25);
  });

  test("a NextToken replayed with other filters is refused", async () => {
    const first = await client().describeInstances(describeRequest({ maxResults: 5 }));

    const error = await failure(
      client().describeInstances(
        describeRequest({ maxResults: 5, status: "Stopped", nextToken: first.body?.nextToken }),
      ),
    );

    expect(error).toMatchObject({ code: "InvalidNextToken", statusCode: 400 });
  });

  test("legacy PageNumber / PageSize paging still works", async () => {
    const page = await client().describeInstances(
      new $Ecs.DescribeInstancesRequest({ regionId: region, pageNumber: 3, pageSize: 10 }),
    );

    expect(page.body).toMatchObject({ totalCount: 25, pageNumber: 3, pageSize: 10 });
    expect(page.body?.instances?.instance).toHaveLength(5);
  });

  test.each([
    ["an unknown Status", { status: "Sleeping" }, "InvalidStatus.ValueNotSupported"],
    [
      "101 InstanceIds",
      { instanceIds: JSON.stringify(Array.from({ length: 101 }, (_, n) => `i-${n}`)) },
      "InvalidInstanceIds.Malformed",
    ],
    ["InstanceIds that are not JSON", { instanceIds: "i-notjson" }, "InvalidParameter"],
    ["MaxResults 101", { maxResults: 101 }, "InvalidParameter.MaxResults"],
  ])("refuses %s with %s", async (_label, fields, code) => {
    const error = await failure(client().describeInstances(describeRequest(fields)));

    expect(error).toMatchObject({ code, statusCode: 400 });
  });

  test("a missing RegionId is MissingParameter", async () => {
    const error = await failure(client().describeInstances(new $Ecs.DescribeInstancesRequest({})));

    expect(error).toMatchObject({ code: "MissingParameter", statusCode: 400 });
  });
});

describe("tags", () => {
  test("TagResources adds and overwrites, UntagResources removes, ListTagResources lists; hooks see each change", async () => {
    const events: TagChangeEvent[] = [];
    const unsubscribe = emulator.ecs.onTagChange((event) => events.push(event));
    const target = "i-spokea0000000000001";

    await client().tagResources(
      new $Ecs.TagResourcesRequest({
        regionId: region,
        resourceType: "instance",
        resourceId: [target],
        tag: [
          new $Ecs.TagResourcesRequestTag({ key: "logtail-xacct-route", value: "db" }),
          new $Ecs.TagResourcesRequestTag({ key: "owner", value: "ops" }),
        ],
      }),
    );
    const listed = await client().listTagResources(
      new $Ecs.ListTagResourcesRequest({ regionId: region, resourceType: "instance", resourceId: [target] }),
    );
    await client().untagResources(
      new $Ecs.UntagResourcesRequest({
        regionId: region,
        resourceType: "instance",
        resourceId: [target],
        tagKey: ["owner"],
      }),
    );
    const after = await client().describeInstances(
      describeRequest({ instanceIds: JSON.stringify([target]) }),
    );
    unsubscribe();

    expect(
      listed.body?.tagResources?.tagResource?.map((t) => [
        t.resourceId,
        t.resourceType,
        t.tagKey,
        t.tagValue,
      ]),
    ).toEqual([
      [target, "instance", "logtail-xacct-route", "db"],
      [target, "instance", "owner", "ops"],
    ]);
    expect(after.body?.instances?.instance?.[0]?.tags?.tag).toEqual([
      new $Ecs.DescribeInstancesResponseBodyInstancesInstanceTagsTag({
        tagKey: "logtail-xacct-route",
        tagValue: "db",
      }),
    ]);
    expect(events.map((event) => event.operation)).toEqual(["TagResources", "UntagResources"]);
    expect(events[0]).toMatchObject({
      accountId: spokeA.id,
      regionId: region,
      callerArn: `acs:ram::${spokeA.id}:user/emulator-admin`,
      changes: [
        {
          instanceId: target,
          before: { "logtail-xacct-route": "web" },
          after: { "logtail-xacct-route": "db", owner: "ops" },
        },
      ],
    });
    expect(events[1]?.request).toEqual({ tagKeys: ["owner"] });
  });

  test("ListTagResources filters by tag across instances and pages by NextToken", async () => {
    const first = await client().listTagResources(
      new $Ecs.ListTagResourcesRequest({
        regionId: region,
        resourceType: "instance",
        tag: [new $Ecs.ListTagResourcesRequestTag({ key: "team", value: "bulk" })],
      }),
    );

    expect(first.body?.tagResources?.tagResource).toHaveLength(21);
    expect(first.body?.nextToken).toBe("");
  });

  test("UntagResources with All removes every tag", async () => {
    await client().untagResources(
      new $Ecs.UntagResourcesRequest({
        regionId: region,
        resourceType: "instance",
        resourceId: ["i-spokea0000000000001"],
        all: true,
      }),
    );

    expect(emulator.ecs.getInstance("i-spokea0000000000001")?.tags.size).toBe(0);
  });

  test.each([
    [{ resourceType: "disk" }, "InvalidResourceType.NotFound", 404],
    [{ resourceId: ["i-doesnotexist00000000"] }, "InvalidResourceId.NotFound", 404],
    [
      { tag: [new $Ecs.TagResourcesRequestTag({ key: "acs:reserved", value: "x" })] },
      "InvalidTagKey.Malformed",
      400,
    ],
  ])("TagResources refuses %p with %s", async (fields, code, statusCode) => {
    const request = new $Ecs.TagResourcesRequest({
      regionId: region,
      resourceType: "instance",
      resourceId: ["i-spokea0000000000001"],
      tag: [new $Ecs.TagResourcesRequestTag({ key: "k", value: "v" })],
      ...fields,
    });

    const error = await failure(client().tagResources(request));

    expect(error).toMatchObject({ code, statusCode });
  });

  test("more than 20 tags on an instance is InvalidTagCount", async () => {
    const tag = Array.from(
      { length: 20 },
      (_, n) => new $Ecs.TagResourcesRequestTag({ key: `k${n}`, value: "v" }),
    );

    const error = await failure(
      client().tagResources(
        new $Ecs.TagResourcesRequest({
          regionId: region,
          resourceType: "instance",
          resourceId: ["i-spokea0000000000001"],
          tag,
        }),
      ),
    );

    expect(error.code).toBe("InvalidTagCount");
  });
});

describe("StartInstance / StopInstance", () => {
  test("stop then start moves through the states and emits each change", async () => {
    const events: StateChangeEvent[] = [];
    const unsubscribe = emulator.ecs.onStateChange((event) => events.push(event));

    await client().stopInstance(new $Ecs.StopInstanceRequest({ instanceId: "i-spokea0000000000001" }));
    const stopped = emulator.ecs.getInstance("i-spokea0000000000001")?.status;
    await client().startInstance(new $Ecs.StartInstanceRequest({ instanceId: "i-spokea0000000000001" }));
    unsubscribe();

    expect(stopped).toBe("Stopped");
    expect(emulator.ecs.getInstance("i-spokea0000000000001")?.status).toBe("Running");
    expect(events.map((event) => `${event.previous}->${event.current}`)).toEqual([
      "Running->Stopping",
      "Stopping->Stopped",
      "Stopped->Starting",
      "Starting->Running",
    ]);
  });

  test("starting a running instance is IncorrectInstanceStatus (403)", async () => {
    const error = await failure(
      client().startInstance(new $Ecs.StartInstanceRequest({ instanceId: "i-spokea0000000000001" })),
    );

    expect(error).toMatchObject({ code: "IncorrectInstanceStatus", statusCode: 403 });
  });

  test("an unknown instance is InvalidInstanceId.NotFound (404)", async () => {
    const error = await failure(
      client().stopInstance(new $Ecs.StopInstanceRequest({ instanceId: "i-nothere0000000000" })),
    );

    expect(error).toMatchObject({ code: "InvalidInstanceId.NotFound", statusCode: 404 });
  });
});

describe("DescribeCloudAssistantStatus", () => {
  test("reports online only for running instances whose agent is up", async () => {
    const response = await client().describeCloudAssistantStatus(
      new $Ecs.DescribeCloudAssistantStatusRequest({
        regionId: region,
        instanceId: [
          "i-spokea0000000000001",
          "i-spokea0000000000002",
          "i-spokea0000000000003",
          "i-spokeawin0000000004",
        ],
        maxResults: 50,
      }),
    );

    const statuses = response.body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus?.map(
      (s) => [s.instanceId, s.cloudAssistantStatus, s.OSType],
    );
    expect(statuses).toEqual([
      ["i-spokea0000000000001", "true", "Linux"],
      ["i-spokea0000000000002", "false", "Linux"],
      ["i-spokea0000000000003", "false", "Linux"],
      ["i-spokeawin0000000004", "true", "Windows"],
    ]);
  });
});
