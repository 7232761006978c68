/**
 * The deployment's event buses and rules (`eventForwarding`), installed on the local EventBridge as
 * setup.sh installs them, carry a spoke's ECS events to authorize under either of Alibaba's readings of
 * the bus-to-bus routing limits, whether or not forwarding keeps `aliyunoriginalaccountid`; and the
 * parser attributes them to the spoke and the spoke's region, not to the hub's envelope.
 */
import { join } from "node:path";
import { installEventRouting } from "../../localstack/eventbridge/deployedRouting";
import { publishEcsChange } from "../../localstack/eventbridge/ecsEvents";
import { type BusRouting, LocalEventBridge } from "../../localstack/eventbridge/localEventBridge";
import type { CloudEvent, FunctionTarget } from "../../localstack/eventbridge/types";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import {
  AUTHORIZE_FUNCTION,
  EVENT_BUS,
  EVENT_FORWARDER_ROLE,
  eventForwarding,
} from "../../shared/deploy/policies";
import { parseInstanceEvent } from "../../shared/events/instanceEvents";

const routes = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const HUB = routes.hub.accountId;
const HUB_REGION = routes.hub.region;
const APP_B = "1700000000000397";
const PAYMENTS = "1800000000000512";
const KEYS = { tagKey: routes.tagKey, statusTagKey: "logtail-xacct-status" };
const FORWARDER = `acs:ram::${HUB}:role/${EVENT_FORWARDER_ROLE}`;

function bridgeWith(busRouting: BusRouting, originalAccountId: "kept" | "dropped") {
  const bridge = new LocalEventBridge({
    busRouting,
    originalAccountId,
    trust: (role, sender) => role === FORWARDER && [APP_B, PAYMENTS].includes(sender),
  });
  const received: CloudEvent[] = [];
  const target = (name: string): FunctionTarget | undefined =>
    name === AUTHORIZE_FUNCTION
      ? { kind: "function", id: "authorize", deliver: (event) => void received.push(event) }
      : undefined;
  return { bridge, received, target };
}

const tagCall = (accountId: string, region: string, instanceId: string) =>
  ({
    kind: "tags",
    accountId,
    region,
    instanceIds: [instanceId],
    eventName: "TagResources",
    tags: { [routes.tagKey]: "app-b-prod" },
  }) as const;

describe("the deployed event routing on the local EventBridge", () => {
  test("the example routes install 11 rules on 5 buses, none left out", () => {
    const { bridge, target } = bridgeWith("unrestricted", "kept");
    expect(installEventRouting(bridge, eventForwarding(routes), target)).toEqual({ rules: 11, skipped: [] });
  });

  test.each([
    ["same-kind-same-region", "kept"],
    ["same-kind-same-region", "dropped"],
    ["to-custom-only", "kept"],
    ["to-custom-only", "dropped"],
  ] as const)(
    "under %s routing, original account %s: a spoke's events reach authorize as the spoke's",
    async (routing, original) => {
      const { bridge, received, target } = bridgeWith(routing, original);
      installEventRouting(bridge, eventForwarding(routes), target);

      publishEcsChange(bridge, tagCall(APP_B, "cn-shanghai", "i-uf6tagged0001"), {
        now: Date.UTC(2026, 0, 1),
      });
      publishEcsChange(
        bridge,
        {
          kind: "state",
          accountId: PAYMENTS,
          region: "cn-hangzhou",
          instanceId: "i-bp1started001",
          state: "Running",
        },
        { now: Date.UTC(2026, 0, 1) },
      );
      await bridge.idle();

      expect(bridge.deadLetters).toEqual([]);
      expect(received).toHaveLength(2);
      for (const event of received) {
        // The envelope is the hub's bus in the hub's region, wherever the event arose.
        expect(event).toMatchObject({
          aliyunaccountid: HUB,
          aliyunregionid: HUB_REGION,
          aliyuneventbusname: EVENT_BUS,
        });
      }
      const parsed = received.map((event) => parseInstanceEvent(JSON.parse(JSON.stringify(event)), KEYS));
      expect(parsed).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            kind: "observe",
            accountId: APP_B,
            region: "cn-shanghai",
            instanceIds: ["i-uf6tagged0001"],
          }),
          expect.objectContaining({
            kind: "observe",
            accountId: PAYMENTS,
            region: "cn-hangzhou",
            state: "Running",
          }),
        ]),
      );
    },
  );

  test("the hub's own instances, in its region and another, travel the same way", async () => {
    const { bridge, received, target } = bridgeWith("same-kind-same-region", "dropped");
    installEventRouting(
      bridge,
      eventForwarding({
        hub: routes.hub,
        sourceAccounts: [{ uid: HUB, regions: [HUB_REGION, "cn-beijing"] }],
      }),
      target,
    );
    publishEcsChange(bridge, tagCall(HUB, HUB_REGION, "i-bp1hubown0001"), { now: 0 });
    publishEcsChange(bridge, tagCall(HUB, "cn-beijing", "i-2zehubown0001"), { now: 0 });
    await bridge.idle();

    expect(bridge.deadLetters).toEqual([]);
    expect(received.map((event) => parseInstanceEvent(event, KEYS))).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ accountId: HUB, region: HUB_REGION }),
        expect.objectContaining({ accountId: HUB, region: "cn-beijing" }),
      ]),
    );
  });

  test.each([
    ["to-custom-only", "default", "cn-hangzhou", "a rule may route only to a custom bus"],
    ["same-kind-same-region", EVENT_BUS, "cn-hangzhou", "a default bus routes only to a default bus"],
    ["same-kind-same-region", EVENT_BUS, "cn-shanghai", "only within one region"],
  ] as const)(
    "under %s, the spoke → hub %s bus in %s is refused and dead-lettered, not retried",
    async (routing, busName, region, reason) => {
      const { bridge } = bridgeWith(routing, "kept");
      bridge.createEventBus({ accountId: HUB, region, busName });
      bridge.putRule({
        accountId: APP_B,
        region: "cn-hangzhou",
        busName: "default",
        name: "straight-to-hub",
        pattern: { source: ["acs.ecs"] },
        targets: [{ kind: "bus", id: "hub", accountId: HUB, region, busName, roleArn: FORWARDER }],
      });
      publishEcsChange(bridge, tagCall(APP_B, "cn-hangzhou", "i-bp1refused0001"), { now: 0 });
      await bridge.idle();

      expect(bridge.deadLetters).toHaveLength(1);
      expect(bridge.deadLetters[0]?.error).toContain(reason);
    },
  );

  test("a rule whose function does not run locally is left out and named", () => {
    const { bridge } = bridgeWith("unrestricted", "kept");
    expect(installEventRouting(bridge, eventForwarding(routes), () => undefined).skipped).toEqual([
      `${HUB}/${HUB_REGION}/${EVENT_BUS}/logtail-xacct-authorize`,
    ]);
  });
});
