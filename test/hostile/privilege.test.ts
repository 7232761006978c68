/**
 * Privilege, under fire ("Proof under fire", the privilege part).
 *
 * (a) A spoke's credentials cannot touch the hub or the other spoke — neither the spoke account's
 *     own AccessKey nor the temporary credentials the pipeline really acts with in that spoke
 *     (AssumeRole by the hub into `acs:ram::<spoke>:role/logtail-xacct-spoke`, through the adapters'
 *     @alicloud/sts20150401 client). Every attempt goes through an official SDK over real HTTP to the
 *     emulator; each is refused with the service's own error (or, for the query APIs, sees nothing),
 *     nothing changes (read back through the emulator handle), and the very same calls made with the
 *     owning account's credentials succeed, so none of these checks can pass vacuously. The RAM roles
 *     are the ones the deployment creates (`buildDeployment` of the routes file).
 *
 * (b) The destination UID on a host always comes from the routes file: the deployed functions
 *     (the project's s.yaml, reconcile included) run on the local stack while route tags name
 *     another destination's route, a UID or a destination's name, forged events claim another
 *     account, and forged heartbeat and apply messages name foreign accounts. Then, over every
 *     simulated host: each file in /etc/ilogtail/users/ is a UID the routes file names as a
 *     destination for that host's account, and a host that was never legitimately tagged has none.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as $Sls from "@alicloud/sls20201230";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { RoleInput } from "../../emulator/core/accounts";
import { type EmulatorHandle, type FleetInput, startEmulator } from "../../emulator/index";
import { defaultQueueAttributes } from "../../emulator/mns/backend";
import { deployedRoleInput } from "../../localstack/deployedRoles";
import { buildEcsEvent } from "../../localstack/eventbridge/ecsEvents";
import { parseSimulatedFleet } from "../../localstack/fleet/simulatedFleet";
import type { LocalStack } from "../../localstack/stack";
import { createAlibabaAdapters, localEndpoints, rolesFromRoutes } from "../../shared/adapters";
import { objectBudgetLedger } from "../../shared/adapters/budgetLedger";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { RoutesFile } from "../../shared/config/routesSchema";
import { snapshotBucketName } from "../../shared/deploy/hubBucket";
import { buildDeployment, FUNCTIONS_ROLE } from "../../shared/deploy/policies";
import { copyPartName, routeCopyJobName } from "../../shared/domain/copyJob";
import { parseDeadLetter } from "../../shared/messages/deadLetters";
import { encodeMessage } from "../../shared/messages/queueMessages";
import { $Ecs, $Sts, type Credentials, ecsClient, failure, stsClient } from "../emulator/emulatorKit";
import { mnsClient, mnsFailure } from "../emulator/mnsTestKit";
import { slsClient } from "../emulator/slsTestKit";
import { ecsClient as stackEcsClient, startFunctionStack, until } from "../support/localAccounts";
import {
  APPLY_QUEUE,
  config,
  DEAD_LETTER_QUEUE,
  HEARTBEAT_QUEUE,
  HUB,
  PAYMENTS,
  REGION,
  SPOKE,
} from "../support/pipelineKit";
import { describeRequiring, sandboxRequirement } from "../support/requires";

// ---- the deployment's roles, as emulator roles ------------------------------------------------------

/**
 * The RAM roles `logtail-xacct policies` creates for a routes file, per account, as setup.sh makes
 * them: trust (roles, account roots, services, the ExternalId condition) and permission policies,
 * which the emulator evaluates on every call a session of the role makes.
 */
function deploymentRoles(routes: RoutesFile): Map<string, RoleInput[]> {
  const byAccount = new Map<string, RoleInput[]>();
  for (const account of buildDeployment(routes).accounts)
    byAccount.set(account.accountId, account.roles.map(deployedRoleInput));
  return byAccount;
}

/** A thrown SDK error as `{code, status}`, whichever SDK threw it (Tea-based or @alicloud/mns). */
const teaRefusal = async (call: Promise<unknown>) => {
  const { code, statusCode } = await failure(call);
  return { code, status: statusCode };
};
const mnsRefusal = async (call: Promise<unknown>) => {
  const { code, status } = await mnsFailure(call);
  return { code, status };
};

// ---- (a) credentials ------------------------------------------------------------------------------

/** What one account owns in the fleet of part (a). */
interface Holdings {
  label: string;
  account: string;
  instance: string;
  project: string;
  logstore: string;
  machineGroup: string;
  config: string;
}

const APP_B: Holdings = {
  label: "app-b (the attacking spoke)",
  account: SPOKE,
  instance: "i-bp1privappb0000001",
  project: "app-b-logs",
  logstore: "app-b",
  machineGroup: "app-b-servers",
  config: "app-b-files",
};
const HUB_HOLDINGS: Holdings = {
  label: "the hub",
  account: HUB,
  instance: "i-bp1privhub00000001",
  // The destination project of both routes, with route app-b-prod's group and config bound.
  project: "central-logs",
  logstore: "app-b",
  machineGroup: "app-b-prod-linux",
  config: "app-b-prod-linux",
};
const PAYMENTS_HOLDINGS: Holdings = {
  label: "the other spoke (payments)",
  account: PAYMENTS,
  instance: "i-bp1privpay00000001",
  project: "payments-logs",
  logstore: "payments",
  machineGroup: "payments-servers",
  config: "payments-files",
};
const VICTIMS = [HUB_HOLDINGS, PAYMENTS_HOLDINGS];
const PAY_OPTED = "i-bp1privpayopt00001";
const PAY_BARE = "i-bp1privpaybare0001";

/** A hub role outside the deployment that trusts app-b: proves STS refuses by trust, not by default. */
const CONTROL_ROLE = "privilege-control";

function privilegeFleet(): FleetInput {
  const roles = deploymentRoles(config);
  const accounts = [
    { id: HUB, name: "hub" },
    { id: SPOKE, name: "app-b" },
    { id: PAYMENTS, name: "payments" },
  ].map((account) => ({
    ...account,
    roles: [
      ...(roles.get(account.id) ?? []),
      ...(account.id === HUB ? [{ name: CONTROL_ROLE, trustedAccounts: [SPOKE] }] : []),
    ],
  }));
  const holdings = [APP_B, HUB_HOLDINGS, PAYMENTS_HOLDINGS];
  return {
    accounts,
    instances: [
      ...holdings.map((h) => ({
        account: h.account,
        region: REGION,
        id: h.instance,
        tags: { owner: h.account },
      })),
      // payments' servers the least-privilege checks command: one opted in, one not.
      { account: PAYMENTS, region: REGION, id: PAY_OPTED, tags: { [config.tagKey]: "payments-prod" } },
      { account: PAYMENTS, region: REGION, id: PAY_BARE, tags: { owner: PAYMENTS } },
    ],
    projects: holdings.map((h) => ({
      account: h.account,
      region: REGION,
      name: h.project,
      logstores: [h.logstore],
      machineGroups: [{ name: h.machineGroup, identifiers: [`${h.machineGroup}-id`] }],
      configs: [{ name: h.config, logstore: h.logstore, filePaths: ["/var/log/x/*.log"] }],
      bindings: [{ machineGroup: h.machineGroup, config: h.config }],
    })),
  };
}

/** The SDK calls every attacker makes against every victim; each must be refused with `code`. */
interface RefusedCall {
  name: string;
  code: string;
  status: number;
  /** `tag` keeps names unique between callers (the same call is made again by the owner). */
  call(emulator: EmulatorHandle, who: Credentials, victim: Holdings, tag: string): Promise<unknown>;
  refusal(call: Promise<unknown>): Promise<{ code: string; status: number }>;
}

const ecs = (emulator: EmulatorHandle, who: Credentials) => ecsClient(emulator, who);
const sls = (emulator: EmulatorHandle, who: Credentials) => slsClient(emulator.port, who);

const ECS_REFUSED: RefusedCall[] = [
  {
    name: "ECS TagResources on its instance",
    code: "InvalidResourceId.NotFound",
    status: 404,
    refusal: teaRefusal,
    call: (emulator, who, victim) =>
      ecs(emulator, who).tagResources(
        new $Ecs.TagResourcesRequest({
          regionId: REGION,
          resourceType: "instance",
          resourceId: [victim.instance],
          tag: [new $Ecs.TagResourcesRequestTag({ key: config.tagKey, value: "app-b-prod" })],
        }),
      ),
  },
  {
    name: "ECS UntagResources on its instance",
    code: "InvalidResourceId.NotFound",
    status: 404,
    refusal: teaRefusal,
    call: (emulator, who, victim) =>
      ecs(emulator, who).untagResources(
        new $Ecs.UntagResourcesRequest({
          regionId: REGION,
          resourceType: "instance",
          resourceId: [victim.instance],
          tagKey: ["owner"],
        }),
      ),
  },
  {
    name: "Cloud Assistant RunCommand on its instance",
    code: "InvalidInstance.NotFound",
    status: 404,
    refusal: teaRefusal,
    call: (emulator, who, victim) =>
      ecs(emulator, who).runCommand(
        new $Ecs.RunCommandRequest({
          regionId: REGION,
          type: "RunShellScript",
          commandContent: "touch /etc/ilogtail/users/1999999999999999",
          instanceId: [victim.instance],
        }),
      ),
  },
];

const SLS_REFUSED: RefusedCall[] = [
  {
    name: "SLS ListMachineGroup in its project",
    code: "Unauthorized",
    status: 401,
    refusal: teaRefusal,
    call: (emulator, who, victim) =>
      sls(emulator, who).listMachineGroup(victim.project, new $Sls.ListMachineGroupRequest({})),
  },
  {
    name: "SLS ListMachines of its machine group",
    code: "Unauthorized",
    status: 401,
    refusal: teaRefusal,
    call: (emulator, who, victim) =>
      sls(emulator, who).listMachines(victim.project, victim.machineGroup, new $Sls.ListMachinesRequest({})),
  },
  {
    name: "SLS CreateMachineGroup in its project",
    code: "Unauthorized",
    status: 401,
    refusal: teaRefusal,
    call: (emulator, who, victim, tag) =>
      sls(emulator, who).createMachineGroup(
        victim.project,
        new $Sls.CreateMachineGroupRequest({
          groupName: `planted-${tag}`,
          machineIdentifyType: "userdefined",
          machineList: ["app-b-prod-linux"],
          groupType: "",
          groupAttribute: new $Sls.CreateMachineGroupRequestGroupAttribute({}),
        }),
      ),
  },
  {
    name: "SLS ApplyConfigToMachineGroup in its project",
    code: "Unauthorized",
    status: 401,
    refusal: teaRefusal,
    call: (emulator, who, victim) =>
      sls(emulator, who).applyConfigToMachineGroup(victim.project, victim.machineGroup, victim.config),
  },
  {
    name: "SLS CreateETL in its project",
    code: "Unauthorized",
    status: 401,
    refusal: teaRefusal,
    call: (emulator, who, victim, tag) =>
      sls(emulator, who).createETL(
        victim.project,
        new $Sls.CreateETLRequest({
          name: `exfiltrate-${tag}`,
          displayName: "copy",
          description: "",
          configuration: new $Sls.ETLConfiguration({
            script: "*",
            lang: "SPL",
            logstore: victim.logstore,
            roleArn: `acs:ram::${victim.account}:role/logtail-xacct-etl-read`,
            fromTime: 1,
            toTime: 0,
            parameters: {},
            sinks: [
              new $Sls.ETLConfigurationSink({
                name: "out",
                project: victim.project,
                logstore: victim.logstore,
                endpoint: `${REGION}.log.aliyuncs.com`,
                roleArn: `acs:ram::${victim.account}:role/logtail-xacct-etl-write`,
                datasets: ["__UNNAMED__"],
              }),
            ],
          }),
        }),
      ),
  },
];

/** MNS on the hub's own account endpoint (`<hub UID>.mns.<region>…`), where its queues live. */
const hubMns = (emulator: EmulatorHandle, who: Credentials) =>
  mnsClient(emulator.port, { accountId: HUB, ...who }, HUB);
const MNS_REFUSED: RefusedCall[] = [
  {
    name: "MNS SendMessage to the hub's heartbeat queue",
    code: "AccessDenied",
    status: 403,
    refusal: mnsRefusal,
    call: (emulator, who) => hubMns(emulator, who).sendMessage(HEARTBEAT_QUEUE, { MessageBody: "forged" }),
  },
  {
    name: "MNS BatchSendMessage to the hub's apply queue",
    code: "AccessDenied",
    status: 403,
    refusal: mnsRefusal,
    call: (emulator, who) => hubMns(emulator, who).batchSendMessage(APPLY_QUEUE, [{ MessageBody: "forged" }]),
  },
  {
    name: "MNS ReceiveMessage from the hub's heartbeat queue",
    code: "AccessDenied",
    status: 403,
    refusal: mnsRefusal,
    call: (emulator, who) => hubMns(emulator, who).receiveMessage(HEARTBEAT_QUEUE, 0),
  },
  {
    name: "MNS PeekMessage on the hub's dead-letter queue",
    code: "AccessDenied",
    status: 403,
    refusal: mnsRefusal,
    call: (emulator, who) => hubMns(emulator, who).peekMessage(DEAD_LETTER_QUEUE),
  },
];

/** Query APIs answer with what the caller's account holds: the victim's resources must not be in it. */
interface SeeingCall {
  name: string;
  sees(emulator: EmulatorHandle, who: Credentials, victim: Holdings, invokeId: string): Promise<string[]>;
}

const SEEING_CALLS: SeeingCall[] = [
  {
    name: "ECS DescribeInstances naming its instance",
    sees: async (emulator, who, victim) =>
      (
        (
          await ecs(emulator, who).describeInstances(
            new $Ecs.DescribeInstancesRequest({
              regionId: REGION,
              instanceIds: JSON.stringify([victim.instance]),
            }),
          )
        ).body?.instances?.instance ?? []
      ).map((i) => i.instanceId ?? ""),
  },
  {
    name: "ECS DescribeInstances of the whole region",
    sees: async (emulator, who) =>
      (
        (await ecs(emulator, who).describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: REGION })))
          .body?.instances?.instance ?? []
      ).map((i) => i.instanceId ?? ""),
  },
  {
    name: "Cloud Assistant DescribeInvocations naming its instance",
    sees: async (emulator, who, victim) =>
      (
        (
          await ecs(emulator, who).describeInvocations(
            new $Ecs.DescribeInvocationsRequest({ regionId: REGION, instanceId: victim.instance }),
          )
        ).body?.invocations?.invocation ?? []
      ).map((i) => i.invokeId ?? ""),
  },
  {
    name: "Cloud Assistant DescribeInvocations naming its invoke id",
    sees: async (emulator, who, _victim, invokeId) =>
      (
        (
          await ecs(emulator, who).describeInvocations(
            new $Ecs.DescribeInvocationsRequest({ regionId: REGION, invokeId }),
          )
        ).body?.invocations?.invocation ?? []
      ).map((i) => i.invokeId ?? ""),
  },
  {
    name: "Cloud Assistant DescribeInvocationResults naming its invoke id",
    sees: async (emulator, who, _victim, invokeId) =>
      (
        (
          await ecs(emulator, who).describeInvocationResults(
            new $Ecs.DescribeInvocationResultsRequest({ regionId: REGION, invokeId }),
          )
        ).body?.invocation?.invocationResults?.invocationResult ?? []
      ).map((r) => r.instanceId ?? ""),
  },
  {
    name: "Cloud Assistant DescribeCloudAssistantStatus naming its instance",
    sees: async (emulator, who, victim) =>
      (
        (
          await ecs(emulator, who).describeCloudAssistantStatus(
            new $Ecs.DescribeCloudAssistantStatusRequest({ regionId: REGION, instanceId: [victim.instance] }),
          )
        ).body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus ?? []
      ).map((s) => s.instanceId ?? ""),
  },
];

/** Roles a spoke must not be able to assume: the other spoke's, and every role the hub has. */
function forbiddenRoles(): Array<{ arn: string; externalId?: string }> {
  const hubRoles = deploymentRoles(config).get(HUB) ?? [];
  const payments = config.sourceAccounts.find((a) => a.uid === PAYMENTS);
  if (!payments) throw new Error("payments is not in the routes file");
  return [
    {
      arn: payments.roleArn,
      ...(payments.externalId === undefined ? {} : { externalId: payments.externalId }),
    },
    ...hubRoles.map((role) => ({ arn: `acs:ram::${HUB}:role/${role.name}` })),
  ];
}

const assumeRole = (emulator: EmulatorHandle, who: Credentials, role: { arn: string; externalId?: string }) =>
  stsClient(emulator, who).assumeRole(
    new $Sts.AssumeRoleRequest({
      roleArn: role.arn,
      roleSessionName: "privilege-test",
      ...(role.externalId === undefined ? {} : { externalId: role.externalId }),
    }),
  );

/** A copy job of `from`'s logstore, read with its account's read role, into a logstore of the hub's destination project. */
function copyJobRequest(name: string, from: Holdings, sink: { logstore: string; roleArn: string }) {
  return new $Sls.CreateETLRequest({
    name,
    displayName: name,
    description: "",
    configuration: new $Sls.ETLConfiguration({
      script: "*",
      lang: "SPL",
      logstore: from.logstore,
      roleArn: `acs:ram::${from.account}:role/logtail-xacct-etl-read`,
      fromTime: 1,
      toTime: 0,
      parameters: {},
      sinks: [
        new $Sls.ETLConfigurationSink({
          name: "central",
          project: HUB_HOLDINGS.project,
          logstore: sink.logstore,
          endpoint: `${REGION}.log.aliyuncs.com`,
          roleArn: sink.roleArn,
          datasets: ["__UNNAMED__"],
        }),
      ],
    }),
  });
}

/** A lookup of named credentials that fails loudly on a name never stored. */
const keyIn =
  (keys: ReadonlyMap<string, Credentials>) =>
  (name: string): Credentials => {
    const found = keys.get(name);
    if (!found) throw new Error(`no credentials ${name}`);
    return found;
  };

/**
 * The privilege fleet on a fresh emulator, with the hub's queues; `keys` gets each account's seeded
 * key (`<uid> key`) and what Function Compute hands the functions (`functions role`: a session of
 * their role, which trusts only fc.aliyuncs.com).
 */
async function startPrivilegeEmulator(keys: Map<string, Credentials>): Promise<EmulatorHandle> {
  const emulator = await startEmulator({
    fleet: privilegeFleet(),
    clock: { startAt: Date.UTC(2026, 3, 1), scale: 0 },
  });
  for (const seeded of emulator.accounts.seededKeys())
    keys.set(`${seeded.accountId} key`, {
      accessKeyId: seeded.accessKeyId,
      accessKeySecret: seeded.accessKeySecret,
    });
  const functionsRole = emulator.accounts.getRole(HUB, FUNCTIONS_ROLE);
  if (!functionsRole) throw new Error("the deployment has no functions' role");
  keys.set("functions role", emulator.accounts.issueRoleCredentials(functionsRole, "fc-invocation", 3600));
  for (const queue of [HEARTBEAT_QUEUE, APPLY_QUEUE, DEAD_LETTER_QUEUE])
    emulator.mns.createQueue(HUB, REGION, queue, defaultQueueAttributes);
  return emulator;
}

describe("privilege: a spoke's credentials reach neither the hub nor the other spoke", () => {
  let emulator: EmulatorHandle;
  const keys = new Map<string, Credentials>();
  const key = keyIn(keys);
  /** The invocation each victim already has (the owner's own command), to look for by id. */
  const invokeIds = new Map<string, string>();
  const invokeIdOf = (victim: Holdings) => invokeIds.get(victim.account) ?? "";
  let issued: jest.SpiedFunction<EmulatorHandle["accounts"]["issueRoleCredentials"]>;
  let before: unknown;

  /** Everything an attack could have changed, read through the emulator handle (not the API). */
  const state = () => ({
    instances: emulator.ecs.listInstances().map((i) => ({
      id: i.instanceId,
      account: i.accountId,
      status: i.status,
      tags: Object.fromEntries(i.tags),
      invocations: i.invocationCount,
    })),
    invocations: [HUB, SPOKE, PAYMENTS].map((account) => ({
      account,
      ids: emulator.ecs.invocationsIn(account, REGION).map((i) => i.invokeId),
    })),
    projects: [APP_B, HUB_HOLDINGS, PAYMENTS_HOLDINGS].map((h) => {
      const project = emulator.sls.getProject(
        { accountId: h.account, region: REGION, action: "GetProject" },
        h.project,
      );
      return {
        name: project.name,
        owner: project.ownerAccountId,
        machineGroups: [...project.machineGroups.values()].map((g) => ({
          name: g.name,
          machines: g.machineList,
          configs: [...g.appliedConfigs].sort(),
        })),
        configs: [...project.configs.keys()].sort(),
        etls: [...project.etls.keys()].sort(),
      };
    }),
    queues: [HEARTBEAT_QUEUE, APPLY_QUEUE, DEAD_LETTER_QUEUE].map((name) => {
      const q = emulator.mns.getQueue(HUB, REGION, name);
      return { name, active: q.activeMessages, inactive: q.inactiveMessages, delayed: q.delayMessages };
    }),
    assumedRoles: issued.mock.calls.length,
  });

  beforeAll(async () => {
    emulator = await startPrivilegeEmulator(keys);
    // Messages already waiting in the hub's queues: no intruder may take or see them.
    for (const queue of [HEARTBEAT_QUEUE, DEAD_LETTER_QUEUE])
      emulator.mns.send(HUB, REGION, queue, [
        { body: "aGVsbG8=", delaySeconds: undefined, priority: undefined },
      ]);

    // The credentials the pipeline itself acts with in each spoke: the hub's AssumeRole into the
    // role the routes file names, through the adapters (@alicloud/sts20150401) over HTTP.
    const hubKey = key(`${HUB} key`);
    const fc = key("functions role");
    const adapters = createAlibabaAdapters({
      endpoints: localEndpoints(emulator.endpoints),
      hub: { accountId: HUB, region: REGION, credentials: () => fc },
      roles: rolesFromRoutes(config),
      now: () => emulator.now(),
    });
    for (const account of [SPOKE, PAYMENTS]) {
      const temporary = await adapters.credentials.forAccount(account);
      expect(temporary.accessKeyId).toMatch(/^STS\./);
      expect(temporary.securityToken).toBeDefined();
      keys.set(`${account} role`, temporary);
    }

    // Each victim's own command, so there is an invocation of theirs to look for.
    for (const [victim, owner] of [
      [HUB_HOLDINGS, hubKey],
      [PAYMENTS_HOLDINGS, key(`${PAYMENTS} key`)],
    ] as const) {
      const ran = await ecs(emulator, owner).runCommand(
        new $Ecs.RunCommandRequest({
          regionId: REGION,
          type: "RunShellScript",
          commandContent: "true",
          instanceId: [victim.instance],
        }),
      );
      invokeIds.set(victim.account, ran.body?.invokeId ?? "");
    }
    issued = jest.spyOn(emulator.accounts, "issueRoleCredentials");
    before = state();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await emulator?.stop();
  });

  const ATTACKERS = [
    ["app-b's own AccessKey", `${SPOKE} key`],
    ["the pipeline's AssumeRole credentials for app-b", `${SPOKE} role`],
  ] as const;

  describe.each(ATTACKERS)("with %s", (_label, attacker) => {
    const refused = [
      ...VICTIMS.flatMap((victim) =>
        [...ECS_REFUSED, ...SLS_REFUSED].map((c) => ({ ...c, victim, title: `${victim.label}: ${c.name}` })),
      ),
      ...MNS_REFUSED.map((c) => ({ ...c, victim: HUB_HOLDINGS, title: `the hub: ${c.name}` })),
    ];

    test.each(refused.map((c) => [c.title, c] as const))("%s is refused", async (_title, c) => {
      const answer = await c.refusal(c.call(emulator, key(attacker), c.victim, attacker.replace(" ", "-")));
      // The role is policy-bound: ECS answers its writes on a resource it may not touch with RAM's
      // refusal before it looks the instance up; the key (an administrator of app-b) gets the lookup's.
      const byRam = attacker === `${SPOKE} role` && ECS_REFUSED.some((ecsCall) => ecsCall.name === c.name);
      expect(answer).toEqual(
        byRam ? { code: "Forbidden.RAM", status: 403 } : { code: c.code, status: c.status },
      );
    });

    test.each(
      VICTIMS.flatMap((victim) =>
        SEEING_CALLS.map((c) => [`${victim.label}: ${c.name}`, c, victim] as const),
      ),
    )("%s shows nothing of theirs", async (_title, c, victim) => {
      // A read the role's policy does not grant (DescribeInvocationResults: the pipeline reads
      // DescribeInvocations) is refused by RAM outright, which shows nothing either.
      const seen = await c
        .sees(emulator, key(attacker), victim, invokeIdOf(victim))
        .catch(async (error: unknown) => {
          expect(attacker).toBe(`${SPOKE} role`);
          expect(await teaRefusal(Promise.reject(error))).toEqual({ code: "Forbidden.RAM", status: 403 });
          return [];
        });
      expect(seen).not.toContain(victim.instance);
      expect(seen).not.toContain(invokeIdOf(victim));
      // Whatever it lists is app-b's own.
      for (const id of seen) expect(id === APP_B.instance || id.startsWith("t-")).toBe(true);
    });

    test.each(forbiddenRoles().map((role) => [role.arn, role] as const))(
      "STS AssumeRole into %s is refused with NoPermission",
      async (_arn, role) => {
        expect(await teaRefusal(assumeRole(emulator, key(attacker), role))).toEqual({
          code: "NoPermission",
          status: 403,
        });
      },
    );
  });

  test("after every attempt, nothing changed anywhere (read through the emulator handle)", () => {
    expect(state()).toEqual(before);
    // The waiting messages were never delivered to anyone.
    for (const queue of [HEARTBEAT_QUEUE, DEAD_LETTER_QUEUE])
      expect(emulator.mns.peek(HUB, REGION, queue, 16).map((m) => m.dequeueCount)).toEqual([0]);
  });

  // ---- the reverse: the same calls with the owner's credentials succeed -------------------------

  describe("the same calls with the owning account's credentials succeed", () => {
    const OWNERS = [
      ["the hub's AccessKey", HUB_HOLDINGS, `${HUB} key`],
      ["payments' own AccessKey", PAYMENTS_HOLDINGS, `${PAYMENTS} key`],
    ] as const;

    test.each(
      OWNERS.flatMap(([label, victim, owner]) =>
        [...ECS_REFUSED, ...SLS_REFUSED, ...(victim === HUB_HOLDINGS ? MNS_REFUSED : [])].map(
          (c) => [`${label}: ${c.name}`, c, victim, owner] as const,
        ),
      ),
    )("%s", async (_title, c, victim, owner) => {
      await expect(c.call(emulator, key(owner), victim, owner.replace(" ", "-"))).resolves.toBeDefined();
    });

    test.each(
      OWNERS.flatMap(([label, victim, owner]) =>
        SEEING_CALLS.map((c) => [`${label}: ${c.name}`, c, victim, owner] as const),
      ),
    )("%s shows theirs", async (_title, c, victim, owner) => {
      const seen = await c.sees(emulator, key(owner), victim, invokeIdOf(victim));
      expect(seen.some((id) => id === victim.instance || id === invokeIdOf(victim))).toBe(true);
    });

    test("the functions' role assumes the other spoke's role with its ExternalId; app-b assumes a hub role that trusts it", async () => {
      const [payments] = forbiddenRoles();
      if (!payments) throw new Error("no payments role");
      const asFunctions = await assumeRole(emulator, key("functions role"), payments);
      expect(asFunctions.body?.assumedRoleUser?.arn).toBe(
        `acs:ram::${PAYMENTS}:assumed-role/logtail-xacct-spoke/privilege-test`,
      );
      const control = await assumeRole(emulator, key(`${SPOKE} key`), {
        arn: `acs:ram::${HUB}:role/${CONTROL_ROLE}`,
      });
      expect(control.body?.credentials?.accessKeyId).toMatch(/^STS\./);
    });

    test("and the state read through the emulator handle shows what they did", () => {
      const after = state();
      expect(after).not.toEqual(before);
      const hubProject = after.projects.find((p) => p.name === HUB_HOLDINGS.project);
      expect(hubProject?.machineGroups.map((g) => g.name)).toContain(`planted-${HUB}-key`);
      expect(hubProject?.etls).toContain(`exfiltrate-${HUB}-key`);
      expect(after.instances.find((i) => i.id === PAYMENTS_HOLDINGS.instance)?.tags).toMatchObject({
        [config.tagKey]: "app-b-prod",
      });
    });
  });

  test("a copy job cannot borrow the hub's write role: payments' job into the hub's destination fails, app-b's runs", async () => {
    // The write role `logtail-xacct policies` makes trusts only the route's backfill source (app-b's
    // SLS). A job is created in the copying account's own project, which that account may do.
    const writeRole = config.routes["app-b-prod"]?.backfill?.writeRoleArn ?? "";
    expect(writeRole).toBe(`acs:ram::${HUB}:role/logtail-xacct-etl-write`);
    const copyInto = (who: Credentials, from: Holdings, name: string) =>
      sls(emulator, who).createETL(
        from.project,
        copyJobRequest(name, from, { logstore: HUB_HOLDINGS.logstore, roleArn: writeRole }),
      );
    // The pipeline's role in payments may create no job at all (payments' route copies nothing), and
    // app-b's only the route's own job (by its name), passing only the route's read role.
    const route = config.routes["app-b-prod"];
    if (!route) throw new Error("example changed");
    const legit = routeCopyJobName(route, "app-b-prod", SPOKE);
    expect(await teaRefusal(copyInto(key(`${PAYMENTS} role`), PAYMENTS_HOLDINGS, "borrow-by-role"))).toEqual({
      code: "Unauthorized",
      status: 401,
    });
    expect(await teaRefusal(copyInto(key(`${SPOKE} role`), APP_B, "exfiltrate-by-role"))).toEqual({
      code: "Unauthorized",
      status: 401,
    });
    await copyInto(key(`${PAYMENTS} key`), PAYMENTS_HOLDINGS, "borrow-by-key");
    await copyInto(key(`${SPOKE} role`), APP_B, legit);
    emulator.advanceClock(emulator.sls.settings.etlStartingMs);

    const statusOf = async (from: Holdings, who: Credentials, name: string) =>
      (await sls(emulator, who).getETL(from.project, name)).body?.status;
    expect(await statusOf(PAYMENTS_HOLDINGS, key(`${PAYMENTS} key`), "borrow-by-key")).toBe("FAILED");
    expect(await statusOf(APP_B, key(`${SPOKE} role`), legit)).toBe("RUNNING");
    const borrowed = emulator.sls.getEtl(
      { accountId: PAYMENTS, region: REGION, action: "GetETL" },
      PAYMENTS_HOLDINGS.project,
      "borrow-by-key",
    );
    expect(emulator.sls.etlFailure(borrowed)).toContain(`does not trust ${PAYMENTS}@log.aliyuncs.com`);
  });
});

describe("least privilege: the deployment's roles do what the pipeline needs and nothing more", () => {
  let emulator: EmulatorHandle;
  const keys = new Map<string, Credentials>();
  const key = keyIn(keys);
  const spokeRole = (uid: string) => {
    const account = config.sourceAccounts.find((a) => a.uid === uid);
    if (!account?.externalId) throw new Error(`no role for ${uid}`);
    return { arn: account.roleArn, externalId: account.externalId };
  };
  const run = (who: Credentials, instanceIds: string[]) =>
    ecs(emulator, who).runCommand(
      new $Ecs.RunCommandRequest({
        regionId: REGION,
        type: "RunShellScript",
        commandContent: "id",
        instanceId: instanceIds,
      }),
    );
  const tag = (who: Credentials, instanceIds: string[], tags: Record<string, string>) =>
    ecs(emulator, who).tagResources(
      new $Ecs.TagResourcesRequest({
        regionId: REGION,
        resourceType: "instance",
        resourceId: instanceIds,
        tag: Object.entries(tags).map(([k, v]) => new $Ecs.TagResourcesRequestTag({ key: k, value: v })),
      }),
    );
  const FORBIDDEN = { code: "Forbidden.RAM", status: 403 };
  const UNAUTHORIZED = { code: "Unauthorized", status: 401 };

  beforeAll(async () => {
    emulator = await startPrivilegeEmulator(keys);
    for (const uid of [SPOKE, PAYMENTS]) {
      const assumed = await assumeRole(emulator, key("functions role"), spokeRole(uid));
      const credentials = assumed.body?.credentials;
      keys.set(`${uid} role`, {
        accessKeyId: credentials?.accessKeyId ?? "",
        accessKeySecret: credentials?.accessKeySecret ?? "",
        securityToken: credentials?.securityToken ?? "",
      });
    }
    // A logstore of app-b that no route names.
    await sls(emulator, key(`${SPOKE} key`)).createLogStore(
      APP_B.project,
      new $Sls.CreateLogStoreRequest({ logstoreName: "secrets", ttl: 30, shardCount: 1 }),
    );
  });

  afterAll(async () => {
    await emulator?.stop();
  });

  test("a spoke role trusts only the hub's functions' and operator's roles, and only with its ExternalId", async () => {
    const appB = spokeRole(SPOKE);
    // The hub's own administrator key: a hub principal, but not one of the two roles.
    expect(await teaRefusal(assumeRole(emulator, key(`${HUB} key`), appB))).toEqual({
      code: "NoPermission",
      status: 403,
    });
    expect(await teaRefusal(assumeRole(emulator, key("functions role"), { arn: appB.arn }))).toEqual({
      code: "NoPermission",
      status: 403,
    });
    expect(
      await teaRefusal(assumeRole(emulator, key("functions role"), { ...appB, externalId: "0".repeat(32) })),
    ).toEqual({ code: "NoPermission", status: 403 });
    // The operator role, assumed by a hub identity, reaches the spoke with the ExternalId.
    const operator = await assumeRole(emulator, key(`${HUB} key`), {
      arn: `acs:ram::${HUB}:role/logtail-xacct-operator`,
    });
    const session = operator.body?.credentials;
    const asOperator = {
      accessKeyId: session?.accessKeyId ?? "",
      accessKeySecret: session?.accessKeySecret ?? "",
      securityToken: session?.securityToken ?? "",
    };
    expect((await assumeRole(emulator, asOperator, appB)).body?.assumedRoleUser?.arn).toContain(
      `acs:ram::${SPOKE}:assumed-role/logtail-xacct-spoke/`,
    );
  });

  test("RunCommand: on an instance that opted in, yes; on one without the tool's tags, Forbidden.RAM, even beside an opted-in one", async () => {
    const payments = key(`${PAYMENTS} role`);
    expect((await run(payments, [PAY_OPTED])).body?.invokeId).toMatch(/^t-/);
    expect(await teaRefusal(run(payments, [PAY_BARE]))).toEqual(FORBIDDEN);
    expect(await teaRefusal(run(payments, [PAY_OPTED, PAY_BARE]))).toEqual(FORBIDDEN);
    expect(emulator.ecs.getInstance(PAY_BARE)?.invocationCount).toBe(0);
  });

  test("tags: the role writes its status and agent-id keys; a foreign key, or the route key, is Forbidden.RAM", async () => {
    const payments = key(`${PAYMENTS} role`);
    await tag(payments, [PAY_OPTED], { [config.statusTagKey]: "authorized" });
    expect(await teaRefusal(tag(payments, [PAY_OPTED], { owner: "attacker" }))).toEqual(FORBIDDEN);
    expect(await teaRefusal(tag(payments, [PAY_BARE], { [config.tagKey]: "payments-prod" }))).toEqual(
      FORBIDDEN,
    );
    expect(Object.fromEntries(emulator.ecs.getInstance(PAY_BARE)?.tags ?? [])).toEqual({ owner: PAYMENTS });
  });

  test("SLS: only the resources the routes name; another logstore, a new group, another project: Unauthorized", async () => {
    const appB = sls(emulator, key(`${SPOKE} role`));
    const query = (logstore: string) =>
      appB.getLogs(APP_B.project, logstore, new $Sls.GetLogsRequest({ from: 1, to: 2, query: "*" }));
    // RAM lets the query through; SLS then answers for the logstore itself (it has no index).
    expect(await teaRefusal(query(APP_B.logstore))).toEqual({ code: "IndexConfigNotExist", status: 400 });
    expect(await teaRefusal(query("secrets"))).toEqual(UNAUTHORIZED);
    expect(
      await teaRefusal(
        appB.createMachineGroup(
          APP_B.project,
          new $Sls.CreateMachineGroupRequest({
            groupName: "planted",
            machineIdentifyType: "userdefined",
            machineList: ["planted"],
          }),
        ),
      ),
    ).toEqual(UNAUTHORIZED);
    // The functions' role in the hub: the destination project of the routes, not another.
    const hub = sls(emulator, key("functions role"));
    await expect(hub.getProject(HUB_HOLDINGS.project)).resolves.toBeDefined();
    await sls(emulator, key(`${HUB} key`)).createProject(
      new $Sls.CreateProjectRequest({ projectName: "hub-private", description: "" }),
    );
    expect(await teaRefusal(hub.getProject("hub-private"))).toEqual(UNAUTHORIZED);
  });

  test("MNS: the functions send to the hub's queues but consume only the heartbeat queue", async () => {
    const functions = hubMns(emulator, key("functions role"));
    await expect(
      functions.batchSendMessage(HEARTBEAT_QUEUE, [{ MessageBody: "aGVsbG8=" }]),
    ).resolves.toBeDefined();
    expect(await mnsRefusal(functions.sendMessage(HEARTBEAT_QUEUE, { MessageBody: "aGVsbG8=" }))).toEqual({
      code: "AccessDenied",
      status: 403,
    });
    expect(await mnsRefusal(functions.receiveMessage(APPLY_QUEUE, 0))).toEqual({
      code: "AccessDenied",
      status: 403,
    });
  });

  test("OSS: the functions lease budget parts and keep listings and readiness records in the hub's bucket, and write nothing else there", async () => {
    const bucket = snapshotBucketName(HUB, REGION);
    emulator.oss.createBucket({ name: bucket, region: REGION, ownerAccountId: HUB });
    const store = createAlibabaAdapters({
      endpoints: localEndpoints(emulator.endpoints),
      hub: { accountId: HUB, region: REGION, credentials: () => key("functions role") },
      roles: rolesFromRoutes(config),
      now: () => emulator.now(),
      retry: { attempts: 1 },
    }).snapshotStore(bucket);
    const slot = {
      service: "ecs" as const,
      operation: "RunCommand",
      accountId: SPOKE,
      region: REGION,
      minute: 1,
      slot: 0,
    };
    const ledger = objectBudgetLedger(store);
    expect(await ledger.claim(slot)).toBe(true);
    expect(await ledger.claim(slot)).toBe(false);
    await store.write("listings/v1/x.json.gz", Buffer.from("{}"));
    await store.write("ready/v1/x.json.gz", Buffer.from("{}"));
    await expect(store.write("secrets/x", Buffer.from("{}"))).rejects.toMatchObject({ code: "AccessDenied" });
    await expect(store.createOnce("budgets/v2/x")).rejects.toMatchObject({ code: "AccessDenied" });
  });

  test("a copy job's write role writes its route's logstore, not another route's", async () => {
    const route = config.routes["app-b-prod"];
    if (!route?.backfill) throw new Error("example changed");
    const part = copyPartName(route, "app-b-prod", SPOKE, 1);
    await sls(emulator, key(`${HUB} key`)).createLogStore(
      HUB_HOLDINGS.project,
      new $Sls.CreateLogStoreRequest({ logstoreName: "payments", ttl: 30, shardCount: 1 }),
    );
    await sls(emulator, key(`${SPOKE} role`)).createETL(
      APP_B.project,
      copyJobRequest(part, APP_B, { logstore: "payments", roleArn: route.backfill.writeRoleArn }),
    );
    emulator.advanceClock(emulator.sls.settings.etlStartingMs);
    const job = emulator.sls.getEtl(
      { accountId: SPOKE, region: REGION, action: "GetETL" },
      APP_B.project,
      part,
    );
    expect(emulator.sls.etlFailure(job)).toContain(
      `denied by sts or ram, action: log:PostLogStoreLogs, resource: acs:log:${REGION}:${HUB}:project/${HUB_HOLDINGS.project}/logstore/payments`,
    );
  });

  test("the residual the README states: a role session may tag any instance with the status key, which makes it commandable", async () => {
    const payments = key(`${PAYMENTS} role`);
    await tag(payments, [PAY_BARE], { [config.statusTagKey]: "pending" });
    expect((await run(payments, [PAY_BARE])).body?.invokeId).toMatch(/^t-/);
  });
});

// ---- (b) the destination UID on a host ------------------------------------------------------------

/** A second destination: an audit account that only payments may send to. */
const AUDIT = "1900000000000789";
const AUDIT_ROUTE = "audit-prod";

/** The example routes file plus route audit-prod → destination audit (another account), payments only. */
function routesWithAuditDestination(): string {
  const document = parseYaml(readFileSync(join(__dirname, "../../config/routes.example.yaml"), "utf8"));
  document.destinations.audit = {
    uid: AUDIT,
    region: REGION,
    roleArn: `acs:ram::${AUDIT}:role/logtail-xacct-destination`,
    externalId: "5d0c9b8a7f6e4d3c2b1a09f8e7d6c5b4",
  };
  document.routes[AUDIT_ROUTE] = {
    destination: "audit",
    project: "audit-logs",
    logstore: "payments-audit",
    machineGroup: { linux: "audit-prod-linux" },
    identifier: { linux: "audit-prod-linux" },
    logtailConfig: { linux: { name: "audit-prod-linux", filePaths: ["/var/log/audit/*.log"] } },
    sources: [{ account: PAYMENTS }],
  };
  // These suites judge identities and scopes on a frozen clock, not the handover's timing: the
  // route's config may start as soon as the source config ships position meta.
  document.routes["app-b-prod"].handover = { configPropagationSeconds: 0 };
  return stringifyYaml(document);
}

/** The UIDs the routes file names as a destination of some route this account may use. */
function allowedUids(routes: RoutesFile, account: string): Set<string> {
  return new Set(
    Object.values(routes.routes)
      .filter((route) => route.sources.some((source) => source.account === account))
      .map((route) => routes.destinations[route.destination]?.uid ?? ""),
  );
}

const HOSTS = {
  // app-b: two legitimately tagged hosts (app-b-prod → the hub); the second is re-tagged later.
  appbLegit: "i-bp1privappbok0001",
  appbRetagged: "i-bp1privappbok0002",
  // app-b, tagged with another destination's route, a UID, the hub's UID, a destination's name.
  appbAuditRoute: "i-bp1privappbaud001",
  appbUidTag: "i-bp1privappbuid001",
  appbHubUidTag: "i-bp1privappbhub001",
  appbDestinationTag: "i-bp1privappbdst001",
  // app-b, never tagged: only forged events and messages name it.
  appbForged: "i-bp1privappbfrg001",
  // payments: audit-prod (→ the audit account) and payments-prod (→ the hub), legitimately.
  payAudit: "i-bp1privpayaud0001",
  payCentral: "i-bp1privpaycen0001",
  // payments, tagged with a route payments may not use; and one never tagged.
  payAppbRoute: "i-bp1privpayapb0001",
  payForged: "i-bp1privpayfrg0001",
  // The hub and the audit account are not source accounts: their tagged hosts must stay untouched.
  hubHost: "i-bp1privhubhost001",
  auditHost: "i-bp1privaudhost001",
} as const;

/** Legitimately onboarded: instance → the UIDs it must end with (the re-tagged one: a subset). */
const LEGIT: Record<string, string[]> = {
  [HOSTS.appbLegit]: [HUB],
  [HOSTS.appbRetagged]: [HUB],
  [HOSTS.payAudit]: [AUDIT],
  [HOSTS.payCentral]: [HUB],
};

/** Where each legitimate host's route reads (its writers write there). */
const LOG_DIR_OF: Record<string, string> = {
  [HOSTS.appbLegit]: "/var/log/app-b",
  [HOSTS.appbRetagged]: "/var/log/app-b",
  [HOSTS.payAudit]: "/var/log/audit",
  [HOSTS.payCentral]: "/var/log/payments",
};

/** The tags the operators of each account set through the ECS API: one TagResources call per value. */
const TAGGING: Array<{ account: string; value: string; ids: string[] }> = [
  { account: SPOKE, value: "app-b-prod", ids: [HOSTS.appbLegit, HOSTS.appbRetagged] },
  { account: SPOKE, value: AUDIT_ROUTE, ids: [HOSTS.appbAuditRoute] },
  { account: SPOKE, value: AUDIT, ids: [HOSTS.appbUidTag] },
  { account: SPOKE, value: HUB, ids: [HOSTS.appbHubUidTag] },
  { account: SPOKE, value: "audit", ids: [HOSTS.appbDestinationTag] },
  { account: PAYMENTS, value: AUDIT_ROUTE, ids: [HOSTS.payAudit] },
  { account: PAYMENTS, value: "payments-prod", ids: [HOSTS.payCentral] },
  { account: PAYMENTS, value: "app-b-prod", ids: [HOSTS.payAppbRoute] },
  { account: HUB, value: "app-b-prod", ids: [HOSTS.hubHost] },
  { account: AUDIT, value: AUDIT_ROUTE, ids: [HOSTS.auditHost] },
];

/** The status each tagged instance must reach first (none: the hub's and audit's are never touched). */
const FIRST_STATUS: Record<string, string | undefined> = {
  [HOSTS.appbLegit]: "authorized",
  [HOSTS.appbRetagged]: "authorized",
  [HOSTS.appbAuditRoute]: "failed:RouteNotAllowedForAccount",
  [HOSTS.appbUidTag]: "failed:UnknownRoute",
  [HOSTS.appbHubUidTag]: "failed:UnknownRoute",
  [HOSTS.appbDestinationTag]: "failed:UnknownRoute",
  [HOSTS.payAudit]: "authorized",
  [HOSTS.payCentral]: "authorized",
  [HOSTS.payAppbRoute]: "failed:RouteNotAllowedForAccount",
};

const ACCOUNT_OF: Record<string, string> = {
  [SPOKE]: "app-b",
  [PAYMENTS]: "payments",
  [HUB]: "hub",
  [AUDIT]: "audit",
};

describeRequiring(
  sandboxRequirement(),
  "privilege: the destination UID on a host always comes from the routes file",
  () => {
    let stack: LocalStack;
    let workDir: string;
    let routes: RoutesFile;
    let logFile: string;
    const startAt = Date.UTC(2026, 3, 1);
    const status = (id: string) => stack.emulator.ecs.getInstance(id)?.tags.get(config.statusTagKey);
    const keyOf = (account: string) => {
      const seeded = stack.emulator.accounts.seededKeys().find((k) => k.accountId === account);
      if (!seeded) throw new Error(`no key for ${account}`);
      return { accessKeyId: seeded.accessKeyId, accessKeySecret: seeded.accessKeySecret };
    };
    const functionLog = (): Array<Record<string, unknown>> =>
      existsSync(logFile)
        ? readFileSync(logFile, "utf8")
            .split("\n")
            .filter((line) => line !== "")
            .map((line) => JSON.parse(line) as Record<string, unknown>)
        : [];
    const queueDepth = (queue: string) => {
      const q = stack.emulator.mns.getQueue(HUB, REGION, queue);
      return q.activeMessages + q.inactiveMessages + q.delayMessages;
    };
    /** Messages received or receivable (the apply queue keeps a delayed copy-job watch). */
    const visible = (queue: string) => {
      const q = stack.emulator.mns.getQueue(HUB, REGION, queue);
      return q.activeMessages + q.inactiveMessages;
    };
    /** The dead-letter records waiting in the hub's queue (peeked, not received), by message id. */
    const deadLetters = () =>
      (visible(DEAD_LETTER_QUEUE) === 0
        ? []
        : stack.emulator.mns.peek(HUB, REGION, DEAD_LETTER_QUEUE, 16)
      ).map((m) => {
        const record = parseDeadLetter(Buffer.from(m.body, "base64").toString("utf8"));
        if (!record) throw new Error(`not a dead-letter record: ${m.body.slice(0, 100)}`);
        return { ...record, id: m.messageId };
      });
    const settle = async () => {
      await stack.bridge.idle();
      await stack.runtime?.idle();
    };
    const tag = (account: string, ids: string[], value: string) =>
      stackEcsClient(stack.emulator.port, keyOf(account)).tagResources(
        new $Ecs.TagResourcesRequest({
          regionId: REGION,
          resourceType: "instance",
          resourceId: ids,
          tag: [new $Ecs.TagResourcesRequestTag({ key: config.tagKey, value })],
        }),
      );

    beforeAll(async () => {
      workDir = mkdtempSync(join(tmpdir(), "ltx-privilege-"));
      logFile = join(workDir, "functions.log");
      const routesFile = join(workDir, "routes.yaml");
      writeFileSync(routesFile, routesWithAuditDestination());
      routes = loadRoutesConfig(routesFile);
      const roles = deploymentRoles(routes);
      const accountIds = [HUB, SPOKE, PAYMENTS, AUDIT];
      const hostAccount: Record<string, string> = {};
      for (const { account, ids } of TAGGING) for (const id of ids) hostAccount[id] = account;
      hostAccount[HOSTS.appbForged] = SPOKE;
      hostAccount[HOSTS.payForged] = PAYMENTS;
      const fleet = parseSimulatedFleet({
        accounts: accountIds.map((id) => ({ id, name: ACCOUNT_OF[id] ?? id, roles: roles.get(id) ?? [] })),
        // The legitimate hosts write logs where their routes read: lines earn `collecting`.
        instances: Object.entries(hostAccount).map(([id, account]) => ({
          account,
          region: REGION,
          id,
          ...(LOG_DIR_OF[id] ? { writers: [{ path: `${LOG_DIR_OF[id]}/app.log`, linesPerSecond: 1 }] } : {}),
        })),
        // What route app-b-prod retires and copies from in app-b (so its cutover runs as in the demo).
        projects: [
          {
            account: "app-b",
            region: REGION,
            name: "app-b-logs",
            logstores: ["app-b"],
            machineGroups: [{ name: "app-b-servers", identifiers: ["app-b-servers"] }],
            configs: [{ name: "app-b-files", logstore: "app-b", filePaths: ["/var/log/app-b/*.log"] }],
            bindings: [{ machineGroup: "app-b-servers", config: "app-b-files" }],
          },
        ],
      });
      // The project's own s.yaml: the four functions as deployed, reconcile's timer included.
      stack = await startFunctionStack(fleet, workDir, startAt, {
        routesFile,
        template: join(__dirname, "../../s.yaml"),
      });
    });

    afterAll(async () => {
      await stack?.stop();
      if (workDir) rmSync(workDir, { recursive: true, force: true });
    });

    test("operators tag: the legitimate instances are authorized, every hostile tag is refused", async () => {
      for (const { account, ids, value } of TAGGING) await tag(account, ids, value);
      await until(
        "every first status",
        async () => {
          await settle();
          return Object.entries(FIRST_STATUS).every(([id, want]) => status(id) === want) ? true : undefined;
        },
        1_200,
      );
      // The heartbeat timer, then apply binds the configs; once their lines arrive, the next looks
      // mark the legitimate ones collecting, each in its own destination.
      stack.emulator.advanceClock(60_000);
      let advanced = 0;
      await until(
        "the legitimate instances collecting",
        async () => {
          await settle();
          if (Object.keys(LEGIT).every((id) => status(id) === "collecting")) return true;
          if (advanced < 20) {
            stack.emulator.advanceClock(30_000);
            advanced += 1;
          }
          return undefined;
        },
        1_200,
      );
      expect(status(HOSTS.hubHost)).toBeUndefined();
      expect(status(HOSTS.auditHost)).toBeUndefined();
      // The audit account is no source: the hub's forwarder role does not trust its EventBridge.
      expect(stack.bridge.deadLetters.map((d) => d.event.aliyunaccountid)).toEqual([AUDIT]);
    }, 60_000);

    test("a re-tag to another destination's route is refused and adds no UID", async () => {
      await tag(SPOKE, [HOSTS.appbRetagged], AUDIT_ROUTE);
      await until("the re-tag refused", async () => {
        await settle();
        return status(HOSTS.appbRetagged) === "failed:RouteNotAllowedForAccount" ? true : undefined;
      });
    });

    test("forged events (on the hub's bus, and a spoke's event claiming the other spoke) change nothing", async () => {
      const now = stack.emulator.now();
      const tagEvent = (claimed: string | undefined, ids: string[], value: string) => ({
        ...buildEcsEvent(
          {
            kind: "tags",
            accountId: claimed ?? HUB,
            region: REGION,
            instanceIds: ids,
            eventName: "TagResources",
            tags: { [config.tagKey]: value },
          },
          { now },
        ),
        ...(claimed === undefined ? {} : { aliyunoriginalaccountid: claimed }),
      });
      const hubBus = { accountId: HUB, region: REGION, busName: "default" };
      const handled = () =>
        functionLog().filter(
          (line) => line.function === "authorize" && line.action === "authorize" && line.outcome === "done",
        ).length;
      const before = handled();
      const onHubBus = [
        // payments may use audit-prod: claim payments for app-b's instances tagged (or not) audit-prod.
        tagEvent(PAYMENTS, [HOSTS.appbAuditRoute, HOSTS.appbForged, HOSTS.appbLegit], AUDIT_ROUTE),
        // app-b may use app-b-prod: claim app-b for payments' instances.
        tagEvent(SPOKE, [HOSTS.payAudit, HOSTS.payForged, HOSTS.payAppbRoute], "app-b-prod"),
        // Accounts that are no source: the audit destination, and the hub itself (no original account).
        tagEvent(AUDIT, [HOSTS.auditHost], AUDIT_ROUTE),
        tagEvent(undefined, [HOSTS.hubHost], "app-b-prod"),
        // A state change claiming payments for app-b's instance.
        {
          ...buildEcsEvent(
            {
              kind: "state",
              accountId: PAYMENTS,
              region: REGION,
              instanceId: HOSTS.appbAuditRoute,
              state: "Running",
            },
            { now },
          ),
          aliyunoriginalaccountid: PAYMENTS,
        },
      ];
      stack.bridge.putEvents(hubBus, onHubBus);
      // A spoke publishing on its own bus, claiming to be the other spoke: forwarded to the hub as is.
      stack.bridge.putEvents({ accountId: SPOKE, region: REGION, busName: "default" }, [
        tagEvent(PAYMENTS, [HOSTS.appbAuditRoute, HOSTS.payForged], AUDIT_ROUTE),
      ]);
      const expected = onHubBus.length + 1;
      await until("every forged event handled", async () => {
        await settle();
        return handled() >= before + expected ? true : undefined;
      });
      const refusals = functionLog().filter((line) => line.function === "authorize");
      expect(refusals).toContainEqual(
        expect.objectContaining({
          accountId: PAYMENTS,
          reason: "InstanceReleased",
          instanceIds: [HOSTS.appbAuditRoute, HOSTS.appbForged, HOSTS.appbLegit],
        }),
      );
      expect(refusals).toContainEqual(
        expect.objectContaining({ accountId: AUDIT, outcome: "refused", reason: "AccountNotConfigured" }),
      );
      expect(refusals).toContainEqual(
        expect.objectContaining({ accountId: HUB, outcome: "refused", reason: "AccountNotConfigured" }),
      );
      for (const id of [HOSTS.appbForged, HOSTS.payForged, HOSTS.hubHost, HOSTS.auditHost])
        expect({ id, status: status(id) }).toEqual({ id, status: undefined });
    });

    test("forged heartbeat and apply messages naming foreign accounts change nothing", async () => {
      const now = stack.emulator.now();
      const heartbeat = (accountId: string, route: string, instanceIds: string[]) =>
        encodeMessage({
          v: 1,
          type: "await-heartbeat",
          accountId,
          region: REGION,
          route,
          instanceIds,
          authorizedAt: now,
          checks: 0,
        });
      const apply = (accountId: string, route: string, instanceIds: string[]) =>
        encodeMessage({ v: 1, type: "apply", accountId, region: REGION, route, instanceIds });
      const heartbeats = [
        heartbeat(PAYMENTS, AUDIT_ROUTE, [HOSTS.appbAuditRoute, HOSTS.appbForged]),
        heartbeat(PAYMENTS, AUDIT_ROUTE, [HOSTS.payForged]),
        heartbeat(SPOKE, AUDIT_ROUTE, [HOSTS.appbAuditRoute]),
        heartbeat(AUDIT, AUDIT_ROUTE, [HOSTS.auditHost]),
        heartbeat(HUB, "app-b-prod", [HOSTS.hubHost]),
        // A message that carries a UID: not a field messages have (strict schema).
        JSON.stringify({ ...JSON.parse(heartbeat(SPOKE, "app-b-prod", [HOSTS.appbForged])), uid: AUDIT }),
      ];
      const applies = [
        apply(SPOKE, AUDIT_ROUTE, [HOSTS.appbAuditRoute, HOSTS.appbForged]),
        apply(PAYMENTS, AUDIT_ROUTE, [HOSTS.appbAuditRoute, HOSTS.payForged]),
        apply(AUDIT, AUDIT_ROUTE, [HOSTS.auditHost]),
        apply(HUB, "app-b-prod", [HOSTS.hubHost]),
        JSON.stringify({ ...JSON.parse(apply(PAYMENTS, AUDIT_ROUTE, [HOSTS.appbForged])), uid: AUDIT }),
      ];
      // Sent as anyone allowed to write the hub's queues would: the official MNS SDK, the hub's key.
      const mns = mnsClient(stack.emulator.port, { accountId: HUB, ...keyOf(HUB) });
      const base64 = (text: string) => ({ MessageBody: Buffer.from(text, "utf8").toString("base64") });
      const recordsBefore = new Set(deadLetters().map((r) => r.id));
      // Apply first (its queue trigger polls at once), then the heartbeat timer.
      await mns.batchSendMessage(APPLY_QUEUE, applies.map(base64));
      await until("the apply queue drained", async () => {
        await settle();
        return visible(APPLY_QUEUE) === 0 ? true : undefined;
      });
      await mns.batchSendMessage(HEARTBEAT_QUEUE, heartbeats.map(base64));
      stack.emulator.advanceClock(60_000);
      await until("the heartbeat queue drained", async () => {
        await settle();
        return queueDepth(HEARTBEAT_QUEUE) === 0 ? true : undefined;
      });
      // What the routes file does not cover and what is malformed is dead-lettered with its reason.
      const records = deadLetters()
        .filter((r) => !recordsBefore.has(r.id))
        .map((r) => `${r.source}: ${r.reason}`)
        .sort();
      // Apply refuses what the routes file does not pair before assuming any role, as heartbeat does.
      expect(records).toEqual([
        `${APPLY_QUEUE}: AccountNotConfigured`,
        `${APPLY_QUEUE}: AccountNotConfigured`,
        `${APPLY_QUEUE}: MalformedMessage`,
        `${APPLY_QUEUE}: RouteNotAllowedForAccount`,
        `${HEARTBEAT_QUEUE}: AccountNotConfigured`,
        `${HEARTBEAT_QUEUE}: AccountNotConfigured`,
        `${HEARTBEAT_QUEUE}: MalformedMessage`,
        `${HEARTBEAT_QUEUE}: RouteNotAllowedForAccount`,
      ]);
      for (const id of [HOSTS.appbForged, HOSTS.payForged, HOSTS.hubHost, HOSTS.auditHost])
        expect({ id, status: status(id) }).toEqual({ id, status: undefined });
    }, 30_000);

    test("reconcile (its 10-minute timer) re-observes every account and touches no host it should not", async () => {
      const before = functionLog().filter((line) => line.function === "reconcile").length;
      stack.emulator.advanceClock(10 * 60_000);
      await until("reconcile ran", async () => {
        await settle();
        return functionLog().filter((line) => line.function === "reconcile").length > before
          ? true
          : undefined;
      });
      await settle();
    }, 30_000);

    test("every host: each UID file is a destination the routes file names for its account; untagged or hostile hosts have none", () => {
      expect(stack.fleet.hosts.size).toBe(Object.keys(HOSTS).length);
      const seen: Record<string, string[]> = {};
      for (const [id, host] of stack.fleet.hosts) {
        const uids = host.uidFiles();
        seen[id] = uids;
        const allowed = allowedUids(routes, host.accountId);
        for (const uid of uids)
          expect({ id, account: host.accountId, uid, allowed: allowed.has(uid) }).toEqual({
            id,
            account: host.accountId,
            uid,
            allowed: true,
          });
        if (LEGIT[id] === undefined) {
          expect({ id, uids, identifiers: host.identifierFile() }).toEqual({
            id,
            uids: [],
            identifiers: undefined,
          });
          // Not one Cloud Assistant command ever reached it.
          expect({ id, commands: stack.emulator.ecs.getInstance(id)?.invocationCount }).toEqual({
            id,
            commands: 0,
          });
        }
      }
      // The oracle is not vacuous: the legitimate hosts carry their destinations, the audit UID included.
      expect(seen[HOSTS.appbLegit]).toEqual([HUB]);
      expect(seen[HOSTS.payAudit]).toEqual([AUDIT]);
      expect(seen[HOSTS.payCentral]).toEqual([HUB]);
      expect(seen[HOSTS.appbRetagged]).not.toContain(AUDIT);
      expect(allowedUids(routes, SPOKE)).toEqual(new Set([HUB]));
      expect(allowedUids(routes, PAYMENTS)).toEqual(new Set([HUB, AUDIT]));
    });

    test("every destination machine group lists only hosts of the accounts its route allows", () => {
      let listed = 0;
      for (const [name, route] of Object.entries(routes.routes)) {
        const destination = routes.destinations[route.destination];
        const group = route.machineGroup.linux;
        if (!destination || !group) continue;
        const scope = { accountId: destination.uid, region: destination.region, action: "ListMachines" };
        const machines = stack.emulator.sls.listMachines(scope, route.project, group, {
          offset: 0,
          size: 500,
        }).items;
        for (const machine of machines) {
          listed += 1;
          // A Logtail host gives no host-id: the fleet host is the one with the machine's UUID.
          const host = [...stack.fleet.hosts.values()].find(
            (h) => h.machineUniqueId === machine.machineUniqueId,
          );
          const id = host?.instanceId ?? `(no host with ${machine.machineUniqueId})`;
          expect({
            route: name,
            host: id,
            allowed: route.sources.some((s) => s.account === host?.accountId),
          }).toEqual({ route: name, host: id, allowed: true });
          expect(LEGIT[id]).toBeDefined();
        }
      }
      expect(listed).toBeGreaterThanOrEqual(3);
    });
  },
);
