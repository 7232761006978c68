import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EmulatorClock } from "../../emulator/core/clock";
import {
  buildEcsEvent,
  type CloudEvent,
  connectEcsEvents,
  type EcsStateTransition,
  type EcsTagCall,
  EventBusNotFoundError,
  ecsChangeHook,
  LocalEventBridge,
  noRetry,
  publishEcsChange,
} from "../../localstack/eventbridge";
import { parseInstanceEvent } from "../../shared/events/instanceEvents";

const HUB = "1700000000000001";
const SPOKE = "1700000000000397";
const REGION = "cn-hangzhou";
const FORWARD_ROLE = `acs:ram::${HUB}:role/logtail-xacct-event-forwarder`;
const KEYS = { tagKey: "logtail-xacct-route", statusTagKey: "logtail-xacct-status" };
const ECS_PATTERN = {
  source: ["acs.ecs"],
  type: ["ecs:ActionTrail:ApiCall", "ecs:Instance:StateChange"],
};

function collector(): { events: CloudEvent[]; deliver: (event: CloudEvent) => void } {
  const events: CloudEvent[] = [];
  return { events, deliver: (event) => void events.push(event) };
}

/** A field of an unknown value, without casts. */
function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? Reflect.get(value, key) : undefined;
}

function setup(): { bridge: LocalEventBridge; clock: EmulatorClock } {
  const clock = new EmulatorClock({ startAt: Date.UTC(2026, 0, 1), scale: 0 });
  return { bridge: new LocalEventBridge({ scheduler: clock, defaultRetry: noRetry }), clock };
}

describe("local EventBridge buses and rules", () => {
  it("delivers asynchronously: putEvents returns before the target sees the event", async () => {
    const { bridge } = setup();
    const sink = collector();
    bridge.putRule({
      accountId: HUB,
      region: REGION,
      busName: "default",
      name: "r",
      pattern: ECS_PATTERN,
      targets: [{ kind: "function", id: "f", deliver: sink.deliver }],
    });
    const event = buildEcsEvent(
      { kind: "state", accountId: HUB, region: REGION, instanceId: "i-bp1abcdef0001", state: "Running" },
      { now: Date.UTC(2026, 0, 1) },
    );

    const [id] = bridge.putEvents({ accountId: HUB, region: REGION, busName: "default" }, [event]);
    expect(sink.events).toHaveLength(0);
    await bridge.idle();

    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({
      id,
      aliyunaccountid: HUB,
      aliyunregionid: REGION,
      aliyuneventbusname: "default",
      type: "ecs:Instance:StateChange",
    });
  });

  it("keeps buses apart per account, region and name", async () => {
    const { bridge } = setup();
    const sink = collector();
    bridge.putRule({
      accountId: HUB,
      region: REGION,
      busName: "default",
      name: "r",
      pattern: {},
      targets: [{ kind: "function", id: "f", deliver: sink.deliver }],
    });
    const event = { id: "e1", source: "acs.ecs", type: "t", time: "2026-01-01T00:00:00Z", data: {} };
    bridge.putEvents({ accountId: SPOKE, region: REGION, busName: "default" }, [event]);
    bridge.putEvents({ accountId: HUB, region: "cn-beijing", busName: "default" }, [event]);
    await bridge.idle();
    expect(sink.events).toHaveLength(0);

    expect(() => bridge.putEvents({ accountId: HUB, region: REGION, busName: "custom" }, [event])).toThrow(
      EventBusNotFoundError,
    );
    bridge.createEventBus({ accountId: HUB, region: REGION, busName: "custom" });
    expect(bridge.putEvents({ accountId: HUB, region: REGION, busName: "custom" }, [event])).toEqual(["e1"]);
  });

  it("only delivers events that match the rule and skips disabled rules", async () => {
    const { bridge } = setup();
    const matched = collector();
    const disabled = collector();
    const bus = { accountId: HUB, region: REGION, busName: "default" };
    bridge.putRule({
      ...bus,
      name: "tags",
      pattern: { type: [{ suffix: ":ActionTrail:ApiCall" }], data: { eventName: [{ prefix: "Tag" }] } },
      targets: [{ kind: "function", id: "f", deliver: matched.deliver }],
    });
    bridge.putRule({
      ...bus,
      name: "off",
      pattern: {},
      enabled: false,
      targets: [{ kind: "function", id: "g", deliver: disabled.deliver }],
    });
    publishEcsChange(
      bridge,
      {
        kind: "tags",
        accountId: HUB,
        region: REGION,
        instanceIds: ["i-bp1abcdef0001"],
        eventName: "TagResources",
        tags: { k: "v" },
      },
      { now: 0 },
    );
    publishEcsChange(
      bridge,
      {
        kind: "tags",
        accountId: HUB,
        region: REGION,
        instanceIds: ["i-bp1abcdef0001"],
        eventName: "UntagResources",
        tagKeys: ["k"],
      },
      { now: 0 },
    );
    await bridge.idle();
    expect(matched.events.map((e) => field(e.data, "eventName"))).toEqual(["TagResources"]);
    expect(disabled.events).toHaveLength(0);
  });

  it("can deliver the same event twice (at-least-once), sharing its id", async () => {
    const { bridge } = setup();
    const sink = collector();
    const bus = { accountId: HUB, region: REGION, busName: "default" };
    bridge.putRule({
      ...bus,
      name: "r",
      pattern: {},
      targets: [{ kind: "function", id: "f", deliver: sink.deliver }],
    });
    bridge.duplicateNextDeliveries(1);
    bridge.putEvents(bus, [{ id: "dup-1", source: "s", type: "t", time: "2026-01-01T00:00:00Z", data: {} }]);
    bridge.putEvents(bus, [{ id: "once-2", source: "s", type: "t", time: "2026-01-01T00:00:00Z", data: {} }]);
    await bridge.idle();
    expect(sink.events.map((e) => e.id)).toEqual(["dup-1", "dup-1", "once-2"]);
  });

  it("retries a failing target on the clock, then dead-letters the event", async () => {
    const clock = new EmulatorClock({ startAt: 0, scale: 0 });
    const bridge = new LocalEventBridge({ scheduler: clock });
    const bus = { accountId: HUB, region: REGION, busName: "default" };
    const attempts: number[] = [];
    const deadLettered: string[] = [];
    bridge.putRule({
      ...bus,
      name: "r",
      pattern: {},
      targets: [
        {
          kind: "function",
          id: "f",
          retry: { name: "test", maxRetries: 2, delayMs: () => 1000 },
          deliver: () => {
            attempts.push(clock.now());
            throw new Error("handler failed");
          },
          deadLetter: (event) => void deadLettered.push(event.id),
        },
      ],
    });
    bridge.putEvents(bus, [{ id: "e", source: "s", type: "t", time: "2026-01-01T00:00:00Z", data: {} }]);
    const settled = bridge.idle();
    for (let i = 0; i < 5; i += 1) {
      await new Promise((resolve) => setImmediate(resolve));
      clock.advance(1000);
    }
    await settled;
    expect(attempts).toEqual([0, 1000, 2000]);
    expect(deadLettered).toEqual(["e"]);
  });

  it("keeps dead letters when a target has no dead-letter handler", async () => {
    const { bridge } = setup();
    const bus = { accountId: HUB, region: REGION, busName: "default" };
    bridge.putRule({
      ...bus,
      name: "r",
      pattern: {},
      targets: [{ kind: "function", id: "f", deliver: () => Promise.reject(new Error("boom")) }],
    });
    bridge.putEvents(bus, [{ id: "e", source: "s", type: "t", time: "2026-01-01T00:00:00Z", data: {} }]);
    await bridge.idle();
    expect(bridge.deadLetters).toEqual([expect.objectContaining({ target: "f", rule: "r", error: "boom" })]);
  });
});

describe("cross-account forwarding (a spoke's default bus to the hub's)", () => {
  function hubAndSpoke(grant: boolean): { bridge: LocalEventBridge; hubEvents: CloudEvent[] } {
    const { bridge } = setup();
    const hub = collector();
    bridge.putRule({
      accountId: HUB,
      region: REGION,
      busName: "default",
      name: "logtail-xacct-authorize",
      pattern: { ...ECS_PATTERN, aliyunoriginalaccountid: [SPOKE] },
      targets: [{ kind: "function", id: "authorize", deliver: hub.deliver }],
    });
    bridge.putRule({
      accountId: SPOKE,
      region: REGION,
      busName: "default",
      name: "logtail-xacct-forward-to-hub",
      pattern: ECS_PATTERN,
      targets: [
        { kind: "bus", id: "hub", accountId: HUB, region: REGION, busName: "default", roleArn: FORWARD_ROLE },
      ],
    });
    if (grant) bridge.grantCrossAccount(FORWARD_ROLE, [SPOKE]);
    return { bridge, hubEvents: hub.events };
  }

  it("forwards a spoke's tag and state events to the hub, naming the source account", async () => {
    const { bridge, hubEvents } = hubAndSpoke(true);
    const hook = ecsChangeHook(bridge, { now: () => Date.UTC(2026, 0, 1) });
    hook({
      kind: "tags",
      accountId: SPOKE,
      region: REGION,
      instanceIds: ["i-bp1abcdef0001"],
      eventName: "TagResources",
      tags: { "logtail-xacct-route": "app-b-prod" },
    });
    hook({
      kind: "state",
      accountId: SPOKE,
      region: REGION,
      instanceId: "i-bp1abcdef0002",
      state: "Running",
    });
    await bridge.idle();

    expect(hubEvents).toHaveLength(2);
    for (const event of hubEvents) {
      expect(event).toMatchObject({
        aliyunaccountid: HUB,
        aliyunoriginalaccountid: SPOKE,
        source: "acs.ecs",
      });
    }
    expect(hubEvents[0]?.data).toMatchObject({ userIdentity: { accountId: SPOKE }, acsRegion: REGION });
  });

  it("refuses delivery when the hub's role does not trust the spoke", async () => {
    const { bridge, hubEvents } = hubAndSpoke(false);
    publishEcsChange(
      bridge,
      { kind: "state", accountId: SPOKE, region: REGION, instanceId: "i-bp1abcdef0002", state: "Stopped" },
      { now: 0 },
    );
    await bridge.idle();
    expect(hubEvents).toHaveLength(0);
    expect(bridge.deadLetters[0]?.error).toContain("does not trust account");
  });

  it("refuses a cross-account target without a role of the receiving account", async () => {
    const { bridge } = setup();
    bridge.putRule({
      accountId: SPOKE,
      region: REGION,
      busName: "default",
      name: "bad",
      pattern: {},
      targets: [{ kind: "bus", id: "hub", accountId: HUB, region: REGION, busName: "default" }],
    });
    bridge.putEvents({ accountId: SPOKE, region: REGION, busName: "default" }, [
      { id: "e", source: "s", type: "t", time: "2026-01-01T00:00:00Z", data: {} },
    ]);
    await bridge.idle();
    expect(bridge.deadLetters[0]?.error).toContain("needs a role of that account");
  });
});

describe("ECS event builders and the authorize parser", () => {
  const now = Date.UTC(2026, 0, 1, 8, 30);

  it("builds a TagResources ActionTrail event in the shape of the constructed fixture", () => {
    const fixture: unknown = JSON.parse(
      readFileSync(join(__dirname, "../fixtures/events/tagresources-constructed.json"), "utf8"),
    );
    const built = buildEcsEvent(
      {
        kind: "tags",
        accountId: SPOKE,
        region: REGION,
        instanceIds: ["i-bp1example0000001"],
        eventName: "TagResources",
        tags: { "logtail-xacct-route": "app-b-prod" },
      },
      { now, newId: () => "5f0c1c7e-2b0e-4d8e-9d55-0a1b2c3d4e5f" },
    );
    expect(fixture).toMatchObject({
      source: built.source,
      type: built.type,
      subject: built.subject,
      data: {
        eventName: "TagResources",
        eventType: "ApiCall",
        eventRW: "Write",
        serviceName: "Ecs",
        acsRegion: REGION,
        requestParameters: field(built.data, "requestParameters"),
        referencedResources: { "ACS::ECS::Instance": ["i-bp1example0000001"] },
        userIdentity: { accountId: SPOKE, type: "ram-user" },
      },
    });
  });

  const changes = [
    {
      title: "TagResources on two instances",
      change: {
        kind: "tags" as const,
        accountId: SPOKE,
        region: REGION,
        instanceIds: ["i-bp1abcdef0001", "i-bp1abcdef0002"],
        eventName: "TagResources" as const,
        tags: { "logtail-xacct-route": "app-b-prod", owner: "team-a" },
      },
      expected: { source: "tag-change", instanceIds: ["i-bp1abcdef0001", "i-bp1abcdef0002"] },
    },
    {
      title: "UntagResources of the route key",
      change: {
        kind: "tags" as const,
        accountId: SPOKE,
        region: REGION,
        instanceIds: ["i-bp1abcdef0001"],
        eventName: "UntagResources" as const,
        tagKeys: ["logtail-xacct-route"],
      },
      expected: { source: "tag-change", instanceIds: ["i-bp1abcdef0001"] },
    },
    ...["Starting", "Running", "Stopping", "Stopped"].map((state) => ({
      title: `state change to ${state}`,
      change: {
        kind: "state" as const,
        accountId: SPOKE,
        region: "ap-southeast-1",
        instanceId: "i-t4nabcdef0003",
        state,
      },
      expected: { source: "state-change", instanceIds: ["i-t4nabcdef0003"], state },
    })),
  ];

  it.each(changes)("the parser observes what the builder publishes: $title", async ({ change, expected }) => {
    const { bridge } = setup();
    const sink = collector();
    bridge.putRule({
      accountId: change.accountId,
      region: change.region,
      busName: "default",
      name: "all",
      pattern: ECS_PATTERN,
      targets: [{ kind: "function", id: "f", deliver: sink.deliver }],
    });
    publishEcsChange(bridge, change, { now });
    await bridge.idle();

    expect(sink.events).toHaveLength(1);
    // The handler receives JSON bytes: go through the wire format, not the object.
    const delivered: unknown = JSON.parse(JSON.stringify(sink.events[0]));
    expect(parseInstanceEvent(delivered, KEYS)).toEqual({
      kind: "observe",
      dedupeKey: `acs.ecs/${sink.events[0]?.id}`,
      accountId: change.accountId,
      region: change.region,
      // The builders name the instance in `subject`, as ECS does.
      attributedBy: "resource-arn",
      rejectedIds: 0,
      ...expected,
    });
  });

  it("an event that only touches the status tag is built faithfully and ignored by the parser", () => {
    const event = buildEcsEvent(
      {
        kind: "tags",
        accountId: SPOKE,
        region: REGION,
        instanceIds: ["i-bp1abcdef0001"],
        eventName: "TagResources",
        tags: { "logtail-xacct-status": "authorized" },
      },
      { now },
    );
    expect(parseInstanceEvent({ ...event, aliyunaccountid: SPOKE }, KEYS)).toMatchObject({ kind: "ignored" });
  });
});

describe("wiring the ECS emulator's change listeners", () => {
  it("turns each tag call and status transition into an event the parser observes, until disconnected", async () => {
    const { bridge } = setup();
    const sink = collector();
    bridge.putRule({
      accountId: SPOKE,
      region: REGION,
      busName: "default",
      name: "all",
      pattern: ECS_PATTERN,
      targets: [{ kind: "function", id: "f", deliver: sink.deliver }],
    });
    let onTag: ((event: EcsTagCall) => void) | undefined;
    let onState: ((event: EcsStateTransition) => void) | undefined;
    const disconnect = connectEcsEvents(
      {
        onTagChange: (listener) => {
          onTag = listener;
          return () => {
            onTag = undefined;
          };
        },
        onStateChange: (listener) => {
          onState = listener;
          return () => {
            onState = undefined;
          };
        },
      },
      bridge,
    );
    onTag?.({
      operation: "UntagResources",
      accountId: SPOKE,
      regionId: REGION,
      callerArn: `acs:ram::${SPOKE}:user/ops`,
      at: Date.UTC(2026, 0, 1),
      resourceIds: ["i-bp1abcdef0001"],
      request: { all: true },
      changes: [{ before: { "logtail-xacct-route": "app-b-prod", owner: "a" }, after: {} }],
    });
    onState?.({
      accountId: SPOKE,
      regionId: REGION,
      instanceId: "i-bp1abcdef0002",
      current: "Stopped",
      at: 0,
    });
    await bridge.idle();

    expect(sink.events.map((event) => parseInstanceEvent(event, KEYS))).toEqual([
      expect.objectContaining({ kind: "observe", source: "tag-change", instanceIds: ["i-bp1abcdef0001"] }),
      expect.objectContaining({ kind: "observe", source: "state-change", state: "Stopped" }),
    ]);
    expect(field(sink.events[0]?.data, "requestParameters")).toMatchObject({
      "TagKey.1": "logtail-xacct-route",
      "TagKey.2": "owner",
    });
    disconnect();
    expect(onTag).toBeUndefined();
    expect(onState).toBeUndefined();
  });
});
