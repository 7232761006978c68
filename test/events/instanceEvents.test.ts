import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeFcEvent, readQueueTrigger } from "../../shared/events/fcEvent";
import { type EventKeys, parseInstanceEvent } from "../../shared/events/instanceEvents";

const KEYS: EventKeys = { tagKey: "logtail-xacct-route", statusTagKey: "logtail-xacct-status" };
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(join(__dirname, "../fixtures/events", name), "utf8"));
const ACCOUNT = "1700000000000397";

function tagEvent(
  eventName: string,
  requestParameters: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return {
    specversion: "1.0",
    id: "evt-1",
    source: "acs.ecs",
    type: "ecs:ActionTrail:ApiCall",
    aliyunaccountid: ACCOUNT,
    aliyunregionid: "cn-hangzhou",
    data: { eventName, acsRegion: "cn-shanghai", requestParameters, ...extra },
  };
}

describe("parsing the events that wake authorize", () => {
  test("the constructed TagResources fixture names the instance, account and region", () => {
    const parsed = parseInstanceEvent(fixture("tagresources-constructed.json"), KEYS);

    expect(parsed).toEqual({
      kind: "observe",
      source: "tag-change",
      dedupeKey: "acs.ecs/5f0c1c7e-2b0e-4d8e-9d55-0a1b2c3d4e5f",
      accountId: ACCOUNT,
      region: "cn-hangzhou",
      attributedBy: "resource-arn",
      instanceIds: ["i-bp1example0000001"],
      rejectedIds: 0,
    });
  });

  test("the DeleteDisk ActionTrail record is ignored, with a reason", () => {
    const envelope = {
      id: "x",
      source: "acs.ecs",
      type: "ecs:ActionTrail:ApiCall",
      aliyunaccountid: ACCOUNT,
      data: fixture("actiontrail-delete-disk-data.json"),
    };

    expect(parseInstanceEvent(envelope, KEYS)).toEqual({
      kind: "ignored",
      reason: "ActionTrail DeleteDisk is not a tag change",
      dedupeKey: "acs.ecs/x",
    });
  });

  test.each<[string, Record<string, unknown>]>([
    [
      "Tag.N.Key and ResourceId.N",
      { "ResourceId.1": "i-bp1aaaaaa", "ResourceId.2": "i-bp1bbbbbb", "Tag.1.Key": KEYS.tagKey },
    ],
    [
      "JSON-array strings",
      { ResourceId: '["i-bp1aaaaaa","i-bp1bbbbbb"]', Tag: `[{"Key":"${KEYS.tagKey}","Value":"r"}]` },
    ],
    ["nested lists", { ResourceId: ["i-bp1aaaaaa", "i-bp1bbbbbb"], Tag: [{ Key: KEYS.tagKey, Value: "r" }] }],
  ])("TagResources with %s", (_name, params) => {
    const parsed = parseInstanceEvent(
      tagEvent("TagResources", { ResourceType: "instance", ...params }),
      KEYS,
    );

    expect(parsed).toMatchObject({
      kind: "observe",
      region: "cn-shanghai",
      instanceIds: ["i-bp1aaaaaa", "i-bp1bbbbbb"],
    });
  });

  test("UntagResources of the route key observes the instance (it is revoked after a re-read)", () => {
    const parsed = parseInstanceEvent(
      tagEvent("UntagResources", {
        ResourceType: "instance",
        "ResourceId.1": "i-bp1aaaaaa",
        "TagKey.1": KEYS.tagKey,
      }),
      KEYS,
    );

    expect(parsed).toMatchObject({ kind: "observe", instanceIds: ["i-bp1aaaaaa"] });
  });

  test("a tag change touching only the status tag starts no work", () => {
    const parsed = parseInstanceEvent(
      tagEvent("TagResources", {
        "ResourceId.1": "i-bp1aaaaaa",
        "Tag.1.Key": KEYS.statusTagKey,
        "Tag.1.Value": "pending",
      }),
      KEYS,
    );

    expect(parsed).toMatchObject({ kind: "ignored", reason: "TagResources touched only the status tag" });
  });

  test("a tag change of unrelated keys starts no work", () => {
    const parsed = parseInstanceEvent(
      tagEvent("AddTags", { ResourceId: "i-bp1aaaaaa", "Tag.1.Key": "owner" }),
      KEYS,
    );

    expect(parsed).toMatchObject({ kind: "ignored", reason: "AddTags did not touch logtail-xacct-route" });
  });

  test("tags on disks, a failed call, and unknown event types are ignored", () => {
    expect(
      parseInstanceEvent(tagEvent("TagResources", { ResourceType: "disk", "ResourceId.1": "d-1" }), KEYS),
    ).toMatchObject({
      kind: "ignored",
    });
    expect(
      parseInstanceEvent(
        tagEvent("TagResources", { "ResourceId.1": "i-bp1aaaaaa" }, { errorCode: "Forbidden" }),
        KEYS,
      ),
    ).toMatchObject({ kind: "ignored", reason: "the TagResources call failed, nothing changed" });
    expect(
      parseInstanceEvent({ id: "1", source: "acs.oss", type: "oss:ObjectCreated:PutObject", data: {} }, KEYS),
    ).toMatchObject({
      kind: "ignored",
    });
  });

  test("an event a spoke forwarded to the hub's bus is attributed to the spoke", () => {
    const forwarded = {
      ...tagEvent("TagResources", { "ResourceId.1": "i-bp1aaaaaa", "Tag.1.Key": KEYS.tagKey }),
      aliyunaccountid: "1200000000000456",
      aliyunoriginalaccountid: ACCOUNT,
    };

    expect(parseInstanceEvent(forwarded, KEYS)).toMatchObject({ kind: "observe", accountId: ACCOUNT });
  });

  describe("attribution after forwarding: the payload, never the hub's envelope", () => {
    const SPOKE = "1300000000000789";
    const HUB_UID = "1200000000000456";
    // The envelope a hub custom bus gives a forwarded event: the hub's account and region.
    const onHubBus = {
      aliyunaccountid: HUB_UID,
      aliyunregionid: "cn-hangzhou",
      aliyuneventbusname: "logtail-xacct-events",
    };
    const stateChange = (extra: Record<string, unknown>) => ({
      id: "sc-1",
      source: "acs.ecs",
      type: "ecs:Instance:StateChange",
      subject: `acs:ecs:ap-southeast-1:${SPOKE}:instance/i-t4nspoke000001`,
      data: { resourceId: "i-t4nspoke000001", resourceType: "ALIYUN::ECS::Instance", state: "Running" },
      ...extra,
    });

    test.each([
      ["keeps aliyunoriginalaccountid", { ...onHubBus, aliyunoriginalaccountid: SPOKE }],
      ["drops aliyunoriginalaccountid", onHubBus],
    ])(
      "a state change forwarded across regions (the bus %s) is looked up where its ARN says",
      (_, envelope) => {
        expect(parseInstanceEvent(stateChange(envelope), KEYS)).toMatchObject({
          kind: "observe",
          accountId: SPOKE,
          region: "ap-southeast-1",
          attributedBy: "resource-arn",
        });
      },
    );

    test("a tag call is attributed to the caller's account and its acsRegion, not the hub's", () => {
      const event = {
        ...tagEvent(
          "TagResources",
          { "ResourceId.1": "i-bp1aaaaaa", "Tag.1.Key": KEYS.tagKey },
          { userIdentity: { accountId: SPOKE, type: "assumed-role" } },
        ),
        ...onHubBus,
      };

      expect(parseInstanceEvent(event, KEYS)).toMatchObject({
        kind: "observe",
        accountId: SPOKE,
        region: "cn-shanghai",
        attributedBy: "caller-identity",
      });
    });

    test("a forwarded event whose payload names no account is rejected, not given to the hub", () => {
      const { subject: _, ...withoutArn } = stateChange(onHubBus);

      expect(parseInstanceEvent(withoutArn, KEYS)).toMatchObject({
        kind: "rejected",
        reason: expect.stringContaining("forwarded event names no valid account UID in its payload"),
      });
    });

    test("a forwarded event whose payload names no region is rejected, not looked up in the hub's", () => {
      const event = { ...stateChange({ ...onHubBus, aliyunoriginalaccountid: SPOKE }) };
      delete (event as { subject?: string }).subject;

      expect(parseInstanceEvent(event, KEYS)).toMatchObject({
        kind: "rejected",
        reason: expect.stringContaining("names no valid region in its payload"),
      });
    });

    test("an event sent by one account naming another account's instance is rejected", () => {
      const forged = stateChange({ ...onHubBus, aliyunoriginalaccountid: "1400000000000111" });

      expect(parseInstanceEvent(forged, KEYS)).toMatchObject({
        kind: "rejected",
        reason: `the event names resources of account ${SPOKE} but was sent by account 1400000000000111`,
      });
    });

    test("an event on the bus where it arose may still be read from its envelope", () => {
      const local = stateChange({
        aliyunaccountid: SPOKE,
        aliyunregionid: "cn-beijing",
        aliyuneventbusname: "default",
      });
      delete (local as { subject?: string }).subject;

      expect(parseInstanceEvent(local, KEYS)).toMatchObject({
        kind: "observe",
        accountId: SPOKE,
        region: "cn-beijing",
        attributedBy: "envelope",
      });
    });
  });

  test("a state change names the instance and its state", () => {
    const event = {
      id: "9435EAD6",
      source: "acs.ecs",
      type: "ecs:Instance:StateChange",
      aliyunaccountid: ACCOUNT,
      aliyunregionid: "cn-hangzhou",
      data: { resourceId: "i-bp1ecr0005go2go", resourceType: "ALIYUN::ECS::Instance", state: "Running" },
    };

    expect(parseInstanceEvent(event, KEYS)).toMatchObject({
      kind: "observe",
      source: "state-change",
      instanceIds: ["i-bp1ecr0005go2go"],
      state: "Running",
    });
  });

  test("a Cloud Config change notification with the tags as a JSON string", () => {
    const event = {
      id: "c-1",
      source: "acs.config",
      type: "config:Config:ConfigurationItemChangeNotification",
      aliyunaccountid: ACCOUNT,
      aliyunregionid: "cn-hangzhou",
      data: {
        resourceType: "ACS::ECS::Instance",
        resourceId: "i-bp1aaaaaa",
        configuration: JSON.stringify({ Tags: { Tag: [{ TagKey: KEYS.tagKey, TagValue: "app-b-prod" }] } }),
      },
    };

    expect(parseInstanceEvent(event, KEYS)).toMatchObject({
      kind: "observe",
      source: "config-change",
      instanceIds: ["i-bp1aaaaaa"],
    });
  });

  test.each<[string, unknown, RegExp]>([
    ["not an object", "TagResources", /not a JSON object/],
    ["no type", { id: "1", source: "acs.ecs", data: {} }, /no type/],
    ["no data", { id: "1", source: "acs.ecs", type: "ecs:ActionTrail:ApiCall" }, /no data object/],
    ["no id", { source: "acs.ecs", type: "ecs:ActionTrail:ApiCall", data: {} }, /no id or source/],
    [
      "a bad account",
      { ...tagEvent("TagResources", { "ResourceId.1": "i-bp1aaaaaa" }), aliyunaccountid: "12;rm" },
      /no valid account UID/,
    ],
    [
      "a bad region",
      {
        ...tagEvent("TagResources", { "ResourceId.1": "i-bp1aaaaaa" }),
        data: {
          eventName: "TagResources",
          acsRegion: "$(x)",
          requestParameters: { "ResourceId.1": "i-bp1aaaaaa" },
        },
        aliyunregionid: undefined,
      },
      /no valid region/,
    ],
    [
      "only hostile instance ids",
      tagEvent("TagResources", { "ResourceId.1": "i-1;reboot", "ResourceId.2": "../etc" }),
      /no valid ECS instance id/,
    ],
  ])("rejects an event with %s, with a reason", (_name, event, reason) => {
    const parsed = parseInstanceEvent(event, KEYS);

    expect(parsed.kind).toBe("rejected");
    expect(parsed.kind === "rejected" ? parsed.reason : "").toMatch(reason);
  });

  test("hostile ids beside valid ones are dropped and counted, never passed on", () => {
    const parsed = parseInstanceEvent(
      tagEvent("TagResources", { "ResourceId.1": "i-bp1aaaaaa", "ResourceId.2": "i-$(reboot)" }),
      KEYS,
    );

    expect(parsed).toMatchObject({ kind: "observe", instanceIds: ["i-bp1aaaaaa"], rejectedIds: 1 });
  });
});

describe("decoding Function Compute events", () => {
  test("a Buffer of JSON", () => {
    expect(decodeFcEvent(Buffer.from('{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
  });

  test("a Buffer that is not JSON is refused with its size", () => {
    expect(decodeFcEvent(Buffer.from("not json"))).toEqual({
      ok: false,
      reason: "the event is not JSON (8 bytes)",
    });
  });

  test("the timer fixture decodes", () => {
    const decoded = decodeFcEvent(readFileSync(join(__dirname, "../fixtures/events/timer.json")));

    expect(decoded).toEqual({ ok: true, value: expect.objectContaining({ triggerName: "timer-trigger" }) });
  });

  test("MNS queue triggers in single and batch mode give the message bodies", () => {
    expect(readQueueTrigger(fixture("mns-queue-trigger-single.json"))).toEqual({
      messages: [{ messageId: "C6DB60D1574661357FA227277445****", body: "TEST" }],
      rejected: [],
    });
    expect(readQueueTrigger(fixture("mns-queue-trigger-batch.json")).messages.map((m) => m.body)).toEqual([
      "TEST",
      "TEST2",
    ]);
  });

  test("elements of a batch that are not MNS messages are reported by position, the rest kept", () => {
    const batch = readQueueTrigger([
      42,
      { type: "other" },
      { type: "mns:Queue:SendMessage", data: { messageBody: 7 } },
      {
        type: "mns:Queue:SendMessage",
        data: { messageId: "m", messageBody: "ok" },
      },
    ]);

    expect(batch.messages).toEqual([{ messageId: "m", body: "ok" }]);
    expect(batch.rejected.map((r) => r.index)).toEqual([0, 1, 2]);
  });
});
