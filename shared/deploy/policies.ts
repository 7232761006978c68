/**
 * The RAM roles and policies a routes file needs, least privilege: every action is one an adapter
 * (or, for the roles Alibaba services assume, that service) performs, on the resources the routes
 * file names. Pure: the same routes file always gives the same documents, in the same order.
 *
 * Per account:
 * - hub: `logtail-xacct-fc`, the functions' role (trusted by fc.aliyuncs.com): sts:AssumeRole on the
 *   roles the functions assume, the hub's queues, the destination projects in the hub; and, when a
 *   source account sends events, `logtail-xacct-event-forwarder` (trusted by each source account's
 *   EventBridge) with eventbridge:PutEvents on the hub's event buses.
 * - each account the hub assumes a role in (`rolesFromRoutes`: source accounts, and destinations
 *   other than the hub): that role, trusted by the hub account; ECS in the account's regions, and
 *   the SLS work there (retire, handover, copy jobs, destination project).
 * - for copy jobs: the read role in the source account (trusted by log.aliyuncs.com) and the write
 *   role in the destination account (trusted by `<source UID>@log.aliyuncs.com`).
 * - each source account and region: the EventBridge buses and rules that bring ECS tag calls and
 *   instance state changes to the authorize function (`eventForwarding`, below).
 *
 * Which function calls what where mirrors the use cases: destination SLS work runs in the
 * destination's region; a source's retire and copy-job calls run in whichever of the account's
 * regions the instances report from, so those resources are granted in each of the account's regions.
 */
import { rolesFromRoutes } from "../adapters/assumeRoleCredentials";
import { ROLE_ARN } from "../config/patterns";
import { OPERATING_SYSTEMS, type RoutesFile } from "../config/routesSchema";
import { copyPartName, MAX_COPY_PARTS, routeCopyJobName } from "../domain/copyJob";
import { AGENT_ID_TAG_KEY } from "../planner/heartbeating";
import { SNAPSHOT_KEYS, snapshotBucketName } from "./hubBucket";
import { HUB_QUEUES } from "./hubQueues";
import {
  type AdapterOperation,
  arn,
  type Operation,
  ramActionsOf,
  type ServiceOperation,
} from "./ramActions";

export const FUNCTIONS_ROLE = "logtail-xacct-fc";
/** The hub role the operator commands (`status`, `verify`, `revoke`, …) act with. */
export const OPERATOR_ROLE = "logtail-xacct-operator";
export const EVENT_FORWARDER_ROLE = "logtail-xacct-event-forwarder";
/** The custom bus the tool creates in every account and region its events pass through. */
export const EVENT_BUS = "logtail-xacct-events";
export const DEFAULT_BUS = "default";
export const FORWARD_TAG_CALLS_RULE = "logtail-xacct-forward-tag-calls";
export const FORWARD_STATE_CHANGES_RULE = "logtail-xacct-forward-state-changes";
export const TO_HUB_RULE = "logtail-xacct-to-hub";
export const TO_HUB_REGION_RULE = "logtail-xacct-to-hub-region";
export const TO_AUTHORIZE_RULE = "logtail-xacct-authorize";
/** The function the hub bus invokes (s.yaml `functionName`). */
export const AUTHORIZE_FUNCTION = "logtail-xacct-authorize";
/** The job-name prefix the apply step uses when the route names none. */
/** unverified: RAM's limit on a custom policy document (6,144 characters, as the console states it). */
export const POLICY_DOCUMENT_LIMIT = 6144;

/** ActionTrail event names of ECS tag changes (ALIBABA-FACTS: no dedicated tag event exists). */
const TAG_EVENT_NAMES = ["AddTags", "RemoveTags", "TagResources", "UntagResources"] as const;

/**
 * - functions: the hub's function role;
 * - operator: the hub role the operator commands assume (trusted by the hub's RAM identities);
 * - spoke / destination: a role the functions assume in a source / destination account;
 * - etl-read / etl-write: roles the SLS copy job assumes;
 * - event-forwarder: the role a source account's EventBridge assumes to put events on the hub's bus.
 */
export type RoleKind =
  | "functions"
  | "operator"
  | "spoke"
  | "destination"
  | "etl-read"
  | "etl-write"
  | "event-forwarder";

/** Who acts with the role: this project's code (through the adapters), or an Alibaba Cloud service. */
export type RolePrincipal = "code" | "service";

/** RAM condition block: operator → key → values (e.g. `{"StringLike": {"acs:ResourceTag/k": ["*"]}}`). */
export type PolicyCondition = Record<string, Record<string, string[]>>;

export interface PolicyStatement {
  Action: string[];
  Condition?: PolicyCondition;
  Effect: "Allow";
  Resource: string[];
}

export interface PermissionPolicy {
  Statement: PolicyStatement[];
  Version: "1";
}

export interface PolicyPart {
  policyName: string;
  document: PermissionPolicy;
}

export interface TrustStatement {
  Action: "sts:AssumeRole";
  Condition?: { StringEquals: { "sts:ExternalId": string } };
  Effect: "Allow";
  Principal: { RAM?: string[]; Service?: string[] };
}

export interface TrustPolicy {
  Statement: TrustStatement[];
  Version: "1";
}

export interface RoleDocuments {
  accountId: string;
  name: string;
  arn: string;
  kind: RoleKind;
  principal: RolePrincipal;
  description: string;
  /** The custom policy attached to the role (the first part's name). */
  policyName: string;
  trust: TrustPolicy;
  /** Everything the role may do, as one document (what `policyParts` add up to). */
  policy: PermissionPolicy;
  /**
   * The custom policies attached to the role: `policy` cut into documents within RAM's size limit,
   * in order; one when it fits.
   */
  policyParts: PolicyPart[];
  /** What the role's principal calls with it, sorted. */
  operations: Operation[];
}

export interface EventTargetParam {
  ResourceKey: string;
  Form: "CONSTANT" | "ORIGINAL";
  Value?: string;
}

/** A target in the shape of EventBridge CreateRule's `EventTargets`: another bus, or a function. */
export interface EventTarget {
  Id: string;
  Type: "acs.eventbridge" | "acs.fc.function";
  Endpoint: string;
  PushRetryStrategy: "BACKOFF_RETRY";
  ParamList: EventTargetParam[];
  /** Where EventBridge puts an event whose push failed past its retries. */
  DeadLetterQueue?: { Arn: string };
}

export interface EventRule {
  name: string;
  description: string;
  filterPattern: Record<string, unknown>;
  targets: EventTarget[];
}

/** The rules on one bus of one account in one region; a custom bus is created first. */
export interface EventRuleDocuments {
  accountId: string;
  region: string;
  eventBusName: string;
  /** The bus is the tool's own (`EVENT_BUS`): setup creates it before any rule names it. */
  createBus: boolean;
  rules: EventRule[];
}

export interface AccountDocuments {
  accountId: string;
  isHub: boolean;
  /** What the routes file calls this account: "hub", a source account's name, a destination's name. */
  labels: string[];
  roles: RoleDocuments[];
  eventRules: EventRuleDocuments[];
}

export interface DeploymentDocuments {
  hubAccountId: string;
  hubRegion: string;
  /** The hub first, then by UID. */
  accounts: AccountDocuments[];
  /** Things the operator must know (a policy over RAM's size limit). */
  warnings: string[];
}

/** The routes file uses one role for two purposes that need different trust. */
export class DeploymentConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeploymentConflictError";
  }
}

/** What the role's principal performs: the SDK operations (or service operations) it is granted. */
export function operationsFor(role: RoleDocuments): readonly Operation[] {
  return [...role.operations];
}

/** Every action a permission policy grants, sorted. */
export function grantedActions(policy: PermissionPolicy): string[] {
  return [...new Set(policy.Statement.flatMap((statement) => statement.Action))].sort();
}

function roleName(roleArn: string): string {
  const name = ROLE_ARN.exec(roleArn)?.[2];
  if (name === undefined) throw new DeploymentConflictError(`${roleArn} is not a RAM role ARN`);
  return name;
}

function roleAccount(roleArn: string): string {
  const uid = ROLE_ARN.exec(roleArn)?.[1];
  if (uid === undefined) throw new DeploymentConflictError(`${roleArn} is not a RAM role ARN`);
  return uid;
}

class RoleBuilder {
  readonly grants = new Map<string, Set<string>>();
  readonly operations = new Set<Operation>();
  readonly trustedAccounts = new Set<string>();
  readonly trustedServices = new Set<string>();
  readonly descriptions = new Set<string>();
  externalId: string | undefined;

  constructor(
    readonly accountId: string,
    readonly name: string,
    readonly kind: RoleKind,
  ) {}

  readonly trustedRoles = new Set<string>();
  /** Statements that hold only under a condition (tag-based authorization), rendered one each. */
  readonly conditional: PolicyStatement[] = [];

  get principal(): RolePrincipal {
    return this.kind === "functions" ||
      this.kind === "operator" ||
      this.kind === "spoke" ||
      this.kind === "destination"
      ? "code"
      : "service";
  }

  /**
   * Grants an operation's RAM actions on `resources` only when `condition` holds; several conditions
   * on one operation are alternatives (RAM ORs statements). Grants under one condition share one
   * statement (every action on every resource): use it for grants meant that way, such as ECS
   * instances of each of the account's regions.
   */
  grantWhen(operation: Operation, resources: readonly string[], condition: PolicyCondition): void {
    if (resources.length === 0) return;
    this.operations.add(operation);
    const existing = this.conditional.find(
      (statement) => JSON.stringify(statement.Condition) === JSON.stringify(condition),
    );
    const statement = existing ?? {
      Action: [],
      Condition: condition,
      Effect: "Allow" as const,
      Resource: [],
    };
    statement.Action = [...new Set([...statement.Action, ...ramActionsOf(operation)])].sort();
    statement.Resource = [...new Set([...statement.Resource, ...resources])].sort();
    if (existing === undefined) this.conditional.push(statement);
  }

  /**
   * Grants an operation's RAM actions on `resources`; `perAction` gives other resources to one of
   * its actions (CreateETL's ram:PassRole is on the read role, not on the job).
   */
  grant(
    operation: Operation,
    resources: readonly string[],
    perAction: Readonly<Record<string, readonly string[]>> = {},
  ): void {
    if (resources.length === 0) return;
    this.operations.add(operation);
    for (const action of ramActionsOf(operation)) {
      const set = this.grants.get(action) ?? new Set<string>();
      for (const resource of perAction[action] ?? resources) set.add(resource);
      this.grants.set(action, set);
    }
  }

  grantAll(operations: readonly Operation[], resources: readonly string[]): void {
    for (const operation of operations) this.grant(operation, resources);
  }

  build(): RoleDocuments {
    const trustStatement: TrustStatement = {
      Action: "sts:AssumeRole",
      ...(this.externalId === undefined
        ? {}
        : { Condition: { StringEquals: { "sts:ExternalId": this.externalId } } }),
      Effect: "Allow",
      Principal: {
        ...(this.trustedAccounts.size + this.trustedRoles.size === 0
          ? {}
          : {
              RAM: [
                ...[...this.trustedAccounts].map((uid) => arn.accountRoot(uid)),
                ...this.trustedRoles,
              ].sort(),
            }),
        ...(this.trustedServices.size === 0 ? {} : { Service: [...this.trustedServices].sort() }),
      },
    };
    const policy = renderPolicy(this.grants, this.conditional);
    const policyName = `${this.name.replaceAll(".", "-")}-policy`;
    return {
      accountId: this.accountId,
      name: this.name,
      arn: arn.role(this.accountId, this.name),
      kind: this.kind,
      principal: this.principal,
      description: [...this.descriptions].sort().join("; ").slice(0, 1024),
      policyName,
      trust: { Statement: [trustStatement], Version: "1" },
      policy,
      policyParts: splitPolicy(policy, policyName),
      operations: [...this.operations].sort(),
    };
  }
}

/**
 * Cuts a policy into documents within `POLICY_DOCUMENT_LIMIT`, statements in order; the first keeps
 * the policy's name, the next ones `<name>-2`, `<name>-3`, … A statement too large for one document
 * is cut by its resources first (same actions and condition on each part).
 */
export function splitPolicy(policy: PermissionPolicy, policyName: string): PolicyPart[] {
  const parts: PermissionPolicy[] = [];
  for (const statement of policy.Statement.flatMap(fitStatement)) {
    const current = parts.at(-1);
    const grown = current && { ...current, Statement: [...current.Statement, statement] };
    if (grown && JSON.stringify(grown).length <= POLICY_DOCUMENT_LIMIT) parts[parts.length - 1] = grown;
    else parts.push({ Statement: [statement], Version: "1" });
  }
  return parts.map((document, index) => ({
    policyName: index === 0 ? policyName : `${policyName}-${index + 1}`,
    document,
  }));
}

function fitStatement(statement: PolicyStatement): PolicyStatement[] {
  const fits = (candidate: PolicyStatement) =>
    JSON.stringify({ Statement: [candidate], Version: "1" }).length <= POLICY_DOCUMENT_LIMIT;
  if (fits(statement) || statement.Resource.length < 2) return [statement];
  const pieces: PolicyStatement[] = [];
  let current: PolicyStatement = { ...statement, Resource: [] };
  for (const resource of statement.Resource) {
    const grown = { ...current, Resource: [...current.Resource, resource] };
    if (current.Resource.length > 0 && !fits(grown)) {
      pieces.push(current);
      current = { ...statement, Resource: [resource] };
    } else current = grown;
  }
  pieces.push(current);
  return pieces;
}

/** One statement per distinct resource set; actions and resources sorted; statements sorted. */
function renderPolicy(
  grants: ReadonlyMap<string, ReadonlySet<string>>,
  conditional: readonly PolicyStatement[] = [],
): PermissionPolicy {
  const byResources = new Map<string, PolicyStatement>();
  for (const [action, resources] of grants) {
    const Resource = [...resources].sort();
    const key = JSON.stringify(Resource);
    const statement = byResources.get(key) ?? { Action: [], Effect: "Allow", Resource };
    statement.Action.push(action);
    byResources.set(key, statement);
  }
  const statements: PolicyStatement[] = [
    ...[...byResources.values()].map((statement) => ({
      ...statement,
      Action: [...statement.Action].sort(),
    })),
    ...conditional,
  ];
  statements.sort((a, b) =>
    compare(
      JSON.stringify([a.Action, a.Resource, a.Condition ?? {}]),
      JSON.stringify([b.Action, b.Resource, b.Condition ?? {}]),
    ),
  );
  return { Statement: statements, Version: "1" };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads of every instance of the account and region (the tag filter of DescribeInstances is not a RAM condition). */
const ECS_INSTANCE_READS: readonly AdapterOperation[] = ["DescribeCloudAssistantStatus", "DescribeInstances"];

/** `StringLike` `*` on one key: the key is present, whatever its value. */
const present = (conditionKey: string): PolicyCondition => ({ StringLike: { [conditionKey]: ["*"] } });

const COPY_JOB_READ: readonly ServiceOperation[] = [
  "ConsumerGroupHeartBeat",
  "ConsumerGroupUpdateCheckPoint",
  "CreateConsumerGroup",
  "GetConsumerGroupCheckPoint",
  "GetCursorOrData",
  "ListConsumerGroup",
  "ListShards",
  "UpdateConsumerGroup",
];

const COPY_JOB_WRITE: readonly ServiceOperation[] = ["BatchPostLogStoreLogs", "PostLogStoreLogs"];

/** The documents for every account the routes file involves. Throws DeploymentConflictError. */
export function buildDeployment(config: RoutesFile): DeploymentDocuments {
  const hub = config.hub.accountId;
  const hubRegion = config.hub.region;
  const roles = new Map<string, RoleBuilder>();
  const labels = new Map<string, Set<string>>();
  const label = (uid: string, text: string) => labels.set(uid, (labels.get(uid) ?? new Set()).add(text));
  label(hub, "hub");

  const role = (accountId: string, name: string, kind: RoleKind, description: string): RoleBuilder => {
    const key = `${accountId}/${name}`;
    const existing = roles.get(key);
    if (existing !== undefined && existing.kind !== kind) {
      throw new DeploymentConflictError(
        `role ${arn.role(accountId, name)} would be both the ${existing.kind} role and the ${kind} role: they need different trust, use two roles`,
      );
    }
    const builder = existing ?? new RoleBuilder(accountId, name, kind);
    builder.descriptions.add(description);
    roles.set(key, builder);
    return builder;
  };

  const functions = role(hub, FUNCTIONS_ROLE, "functions", "logtail-xacct functions (Function Compute)");
  functions.trustedServices.add("fc.aliyuncs.com");
  // The operator commands act as the functions do; the hub's own RAM identities assume this role
  // (each needs sts:AssumeRole on it), so no other hub principal reaches a spoke.
  const operator = role(hub, OPERATOR_ROLE, "operator", "logtail-xacct operator commands (CLI)");
  operator.trustedAccounts.add(hub);

  // The roles the functions assume: exactly what AssumeRoleCredentials is given.
  const assumed = rolesFromRoutes(config);
  const sourceUids = new Set(config.sourceAccounts.map((account) => account.uid));
  for (const [uid, target] of [...assumed].sort(([a], [b]) => compare(a, b))) {
    if (uid === hub) continue; // the hub acts with the functions' own credentials
    if (roleAccount(target.roleArn) !== uid) {
      throw new DeploymentConflictError(`role ${target.roleArn} does not belong to account ${uid}`);
    }
    const kind: RoleKind = sourceUids.has(uid) ? "spoke" : "destination";
    const builder = role(
      uid,
      roleName(target.roleArn),
      kind,
      "logtail-xacct: assumed by the hub's functions",
    );
    // Only the functions' and the operator's role, and only with the route file's ExternalId: a hub
    // principal allowed sts:AssumeRole on "*" still cannot act here.
    builder.trustedRoles.add(arn.role(hub, FUNCTIONS_ROLE));
    builder.trustedRoles.add(arn.role(hub, OPERATOR_ROLE));
    if (target.externalId === undefined)
      throw new DeploymentConflictError(`role ${target.roleArn} has no externalId in the routes file`);
    builder.externalId = target.externalId;
    functions.grant("AssumeRole", [target.roleArn]);
  }
  /** The role the functions act with in an account (the hub: their own). */
  const codeRole = (uid: string): RoleBuilder => {
    if (uid === hub) return functions;
    const target = assumed.get(uid);
    if (target === undefined) throw new DeploymentConflictError(`account ${uid} has no role to assume`);
    const builder = roles.get(`${uid}/${roleName(target.roleArn)}`);
    if (builder === undefined) throw new DeploymentConflictError(`account ${uid} has no role to assume`);
    return builder;
  };

  // The hub's queues: every function sends (heartbeat checks, apply work, copy-job watches,
  // reconcile's shards, dead letters); the heartbeat function consumes its queue. The apply and
  // reconcile queues are consumed by their MNS triggers, with the triggers' own role.
  const queue = (name: string) => arn.mnsQueueMessages(hubRegion, hub, name);
  functions.grant("BatchSendMessage", [
    queue(HUB_QUEUES.heartbeat),
    queue(HUB_QUEUES.apply),
    queue(HUB_QUEUES.reconcile),
    queue(HUB_QUEUES.deadLetter),
  ]);
  functions.grantAll(
    ["BatchReceiveMessage", "BatchDeleteMessage", "ChangeMessageVisibility"],
    [queue(HUB_QUEUES.heartbeat)],
  );
  // The snapshot bucket: the machine group listings one function keeps for the others, and the
  // reconcile shards' censuses.
  functions.grantAll(
    ["GetObject", "PutObject"],
    SNAPSHOT_KEYS.map((keys) => arn.ossObjects(hub, snapshotBucketName(hub, hubRegion), keys)),
  );

  // ECS in every source account and region: observe, run the host commands, write status tags.
  // Instance and command IDs are not known in advance: instance/* and command/* of the account and
  // region are the narrowest resources these APIs take.
  // Commands and tag removals only on instances that carry one of the tool's keys (opted in by the
  // route tag, or onboarded before: the status and agent-id tags); tag writes only of the tool's
  // own keys (acs:RequestTag, Alibaba's tag-based authorization).
  const toolKeys = [config.tagKey, config.statusTagKey, AGENT_ID_TAG_KEY];
  const writtenKeys = [config.statusTagKey, AGENT_ID_TAG_KEY];
  for (const account of config.sourceAccounts) {
    label(account.uid, account.name);
    const builder = codeRole(account.uid);
    for (const region of [...account.regions].sort()) {
      const instances = [arn.ecsInstances(region, account.uid)];
      builder.grantAll(ECS_INSTANCE_READS, instances);
      for (const key of toolKeys) {
        builder.grantWhen("RunCommand", instances, present(`acs:ResourceTag/${key}`));
        builder.grantWhen("UntagResources", instances, present(`acs:ResourceTag/${key}`));
      }
      for (const key of writtenKeys)
        builder.grantWhen("TagResources", instances, present(`acs:RequestTag/${key}`));
      builder.grant("DescribeInvocations", [
        arn.ecsInstances(region, account.uid),
        arn.ecsCommands(region, account.uid),
      ]);
    }
  }

  for (const [destinationName, destination] of Object.entries(config.destinations)) {
    label(destination.uid, destinationName);
  }

  for (const [routeName, route] of Object.entries(config.routes)) {
    const destination = config.destinations[route.destination];
    if (destination === undefined) continue;
    const { uid: dUid, region: dRegion } = destination;
    const target = codeRole(dUid);

    // The destination: project, logstore and index, per OS a machine group and a pipeline config,
    // the config bound to the group, the group's machines (apply, heartbeat, reconcile).
    target.grantAll(["GetProject", "CreateProject"], [arn.slsProject(dRegion, dUid, route.project)]);
    target.grantAll(
      ["GetLogStore", "CreateLogStore", "GetIndex", "CreateIndex", "UpdateIndex"],
      [arn.slsLogstore(dRegion, dUid, route.project, route.logstore)],
    );
    const groups: string[] = [];
    const configs: string[] = [];
    for (const os of OPERATING_SYSTEMS) {
      const group = route.machineGroup[os];
      const logtail = route.logtailConfig[os];
      if (group !== undefined) groups.push(arn.slsMachineGroup(dRegion, dUid, route.project, group));
      if (logtail !== undefined)
        configs.push(arn.slsLogtailConfig(dRegion, dUid, route.project, logtail.name));
    }
    target.grantAll(
      ["GetMachineGroup", "CreateMachineGroup", "UpdateMachineGroup", "ListMachines", "GetAppliedConfigs"],
      groups,
    );
    target.grantAll(
      ["GetLogtailPipelineConfig", "CreateLogtailPipelineConfig", "UpdateLogtailPipelineConfig"],
      configs,
    );
    // Authorized on the config and on the group ("Authentication rules").
    target.grant("ApplyConfigToMachineGroup", [...groups, ...configs]);
    // Every route's destination logstore is queried (GetLogs): `collecting` is earned by lines there
    // (heartbeat, apply, reconcile), and a handover reads the first position per file.
    target.grant("GetLogs", [arn.slsLogstore(dRegion, dUid, route.project, route.logstore)]);

    for (const source of route.sources) {
      const account = config.sourceAccounts.find((a) => a.uid === source.account);
      if (account === undefined) continue;
      const sUid = account.uid;
      const acting = codeRole(sUid);
      const regions = [...account.regions].sort();

      if (source.retire) {
        const { project, machineGroup, config: configName } = source.retire;
        for (const region of regions) {
          const group = arn.slsMachineGroup(region, sUid, project, machineGroup);
          // Unbound only once every machine of the group is migrated: ListMachines first. Bound
          // again (reconcile) when a machine of the group is collected by nobody after that.
          acting.grantAll(["GetAppliedConfigs", "ListMachines"], [group]);
          for (const action of ["RemoveConfigFromMachineGroup", "ApplyConfigToMachineGroup"] as const)
            acting.grant(action, [group, arn.slsLogtailConfig(region, sUid, project, configName)]);
        }
      }

      // The handover (usecases/handover.ts), in whichever region holds the source config (each is
      // tried): the config gets position meta (read, updated), the backfill logstore indexes the
      // position fields and is queried for the source's last position per file, and the copy is
      // split into parts by host, each a job of its own (part 0 is the route's copy job below).
      if (source.retire && source.backfill && route.backfill) {
        const { retire, backfill } = source;
        const parts = Array.from({ length: MAX_COPY_PARTS }, (_, index) =>
          copyPartName(route, routeName, sUid, index + 1),
        );
        for (const region of regions) {
          acting.grantAll(
            ["GetLogtailPipelineConfig", "UpdateLogtailPipelineConfig"],
            [arn.slsLogtailConfig(region, sUid, retire.project, retire.config)],
          );
          acting.grantAll(
            ["GetIndex", "CreateIndex", "UpdateIndex", "GetLogs"],
            [arn.slsLogstore(region, sUid, backfill.project, backfill.logstore)],
          );
          const jobs = parts.map((part) => arn.slsJob(region, sUid, backfill.project, part));
          acting.grant("GetETL", jobs);
          acting.grant("CreateETL", jobs, { "ram:PassRole": [backfill.readRoleArn] });
        }
      }

      if (source.backfill && route.backfill) {
        const { project, logstore, readRoleArn } = source.backfill;
        const job = routeCopyJobName(route, routeName, sUid);
        for (const region of regions) {
          acting.grant("GetETL", [arn.slsJob(region, sUid, project, job)]);
          acting.grant("CreateETL", [arn.slsJob(region, sUid, project, job)], {
            "ram:PassRole": [readRoleArn],
          });
          acting.grant("ListETLs", [arn.slsJob(region, sUid, project, "*")]);
        }

        // The copy job reads the source logstore as a consumer group with the read role...
        const readAccount = roleAccount(readRoleArn);
        const reader = role(
          readAccount,
          roleName(readRoleArn),
          "etl-read",
          "logtail-xacct: the SLS copy job reads the source logstore",
        );
        reader.trustedServices.add("log.aliyuncs.com");
        for (const region of regions) {
          reader.grantAll(COPY_JOB_READ, [
            arn.slsLogstore(region, readAccount, project, logstore),
            arn.slsConsumerGroups(region, readAccount, project, logstore),
          ]);
        }

        // ...and writes the destination logstore with the write role, which trusts the job's account.
        const writeArn = route.backfill.writeRoleArn;
        const writeAccount = roleAccount(writeArn);
        const writer = role(
          writeAccount,
          roleName(writeArn),
          "etl-write",
          "logtail-xacct: the SLS copy job writes the destination logstore",
        );
        writer.trustedServices.add(`${sUid}@log.aliyuncs.com`);
        writer.grantAll(COPY_JOB_WRITE, [
          arn.slsLogstore(dRegion, writeAccount, route.project, route.logstore),
        ]);
      }
    }
  }

  // Event forwarding: every source account's ECS events reach the authorize function.
  const forwarding = eventForwarding(config);
  const spokes = config.sourceAccounts.filter((account) => account.uid !== hub);
  if (spokes.length > 0) {
    // unverified: the service principal `<uid>@eventbridge.aliyuncs.com` (localstack/eventbridge/README.md:
    // not printed in Alibaba's pages; a public Alibaba multi-account script uses exactly this form).
    const forwarder = role(
      hub,
      EVENT_FORWARDER_ROLE,
      "event-forwarder",
      "logtail-xacct: source accounts' EventBridge puts ECS events on the hub's buses",
    );
    for (const account of spokes) forwarder.trustedServices.add(`${account.uid}@eventbridge.aliyuncs.com`);
    const spokeRegions = new Set(spokes.flatMap((account) => account.regions));
    forwarder.grant(
      "PutEvents",
      [...spokeRegions].sort().map((region) => arn.eventBus(region, hub, EVENT_BUS)),
    );
  }
  const eventRules = new Map<string, EventRuleDocuments[]>();
  for (const documents of forwarding) {
    eventRules.set(documents.accountId, [...(eventRules.get(documents.accountId) ?? []), documents]);
  }

  // The operator commands call what the functions call, in the same places.
  for (const [action, resources] of functions.grants) operator.grants.set(action, new Set(resources));
  for (const operation of functions.operations) operator.operations.add(operation);

  const builtRoles = [...roles.values()].map((builder) => builder.build());
  const warnings: string[] = [];
  for (const built of builtRoles) {
    for (const part of built.policyParts) {
      const size = JSON.stringify(part.document).length;
      if (size > POLICY_DOCUMENT_LIMIT) {
        warnings.push(
          `policy ${part.policyName} of ${built.arn} is ${size} characters in one statement, over RAM's ${POLICY_DOCUMENT_LIMIT}: split its routes over more projects`,
        );
      }
    }
  }

  const uids = new Set<string>([hub, ...labels.keys(), ...builtRoles.map((r) => r.accountId)]);
  const accounts = [...uids]
    .sort((a, b) => (a === hub ? -1 : b === hub ? 1 : compare(a, b)))
    .map((uid) => ({
      accountId: uid,
      isHub: uid === hub,
      labels: [...(labels.get(uid) ?? [])].sort(),
      roles: builtRoles.filter((r) => r.accountId === uid).sort((a, b) => compare(a.name, b.name)),
      eventRules: eventRules.get(uid) ?? [],
    }));
  return { hubAccountId: hub, hubRegion, accounts, warnings };
}

/**
 * How ECS events reach authorize, by a path both of Alibaba's readings of cross-account routing allow
 * (localstack/eventbridge/README.md): the older page routes across accounts only within a region and
 * only default → default or custom → custom; the newer one lets a default bus route only to custom
 * buses, across regions too. So, per source account and region r:
 * 1. the account's default bus → its own custom bus `EVENT_BUS` in r (same account and region);
 * 2. that custom bus → the hub's custom bus in r (custom → custom, same region, through the hub's
 *    forwarder role); for the hub's own account, step 1 already lands there;
 * 3. the hub's bus in r → the hub's bus in the hub's region (same account), when r is another region;
 * 4. the hub's bus in the hub's region → the authorize function.
 * Pure; ordered so that a bus exists before a rule names it: the hub first, the functions' region first.
 */
export function eventForwarding(config: ForwardingScope): EventRuleDocuments[] {
  const hub = config.hub.accountId;
  const hubRegion = config.hub.region;
  const sources = [...config.sourceAccounts].sort((a, b) =>
    a.uid === hub ? -1 : b.uid === hub ? 1 : compare(a.uid, b.uid),
  );
  const regions = [...new Set(sources.flatMap((account) => account.regions))].sort();
  const hubBuses: EventRuleDocuments[] = [
    {
      accountId: hub,
      region: hubRegion,
      eventBusName: EVENT_BUS,
      createBus: true,
      rules: [
        {
          name: TO_AUTHORIZE_RULE,
          description: "logtail-xacct: ECS tag and state events to the authorize function",
          filterPattern: ecsEventPattern(),
          targets: [authorizeTarget(hub, hubRegion)],
        },
      ],
    },
    ...regions
      .filter((region) => region !== hubRegion)
      .map((region) => ({
        accountId: hub,
        region,
        eventBusName: EVENT_BUS,
        createBus: true,
        rules: [
          {
            name: TO_HUB_REGION_RULE,
            description: `logtail-xacct: ECS events to the hub's bus in ${hubRegion}`,
            filterPattern: ecsEventPattern(),
            targets: [busTarget({ from: hub, to: hub, region: hubRegion })],
          },
        ],
      })),
  ];
  const perSource = sources.flatMap((account) =>
    [...account.regions].sort().flatMap((region): EventRuleDocuments[] => {
      const toOwnBus = busTarget({ from: account.uid, to: account.uid, region });
      const fromDefault: EventRuleDocuments = {
        accountId: account.uid,
        region,
        eventBusName: DEFAULT_BUS,
        createBus: false,
        rules: [
          {
            name: FORWARD_STATE_CHANGES_RULE,
            description: "logtail-xacct: ECS instance start/stop to the logtail-xacct bus",
            filterPattern: { source: ["acs.ecs"], type: ["ecs:Instance:StateChange"] },
            targets: [toOwnBus],
          },
          {
            name: FORWARD_TAG_CALLS_RULE,
            description: "logtail-xacct: ECS tag changes (ActionTrail API calls) to the logtail-xacct bus",
            filterPattern: {
              data: { eventName: [...TAG_EVENT_NAMES] },
              source: ["acs.ecs"],
              type: ["ecs:ActionTrail:ApiCall"],
            },
            targets: [toOwnBus],
          },
        ],
      };
      if (account.uid === hub) return [fromDefault];
      const toHub: EventRuleDocuments = {
        accountId: account.uid,
        region,
        eventBusName: EVENT_BUS,
        createBus: true,
        rules: [
          {
            name: TO_HUB_RULE,
            description: `logtail-xacct: ECS events to the hub ${hub}`,
            filterPattern: ecsEventPattern(),
            targets: [busTarget({ from: account.uid, to: hub, region })],
          },
        ],
      };
      // The custom bus first: the default bus's rules name it.
      return [toHub, fromDefault];
    }),
  );
  return [...hubBuses, ...perSource];
}

/** What the forwarding depends on: the hub, and each source account's regions (a routes file fits). */
export interface ForwardingScope {
  hub: { accountId: string; region: string };
  sourceAccounts: ReadonlyArray<{ uid: string; regions: readonly string[] }>;
}

function ecsEventPattern(): Record<string, unknown> {
  return { source: ["acs.ecs"], type: ["ecs:ActionTrail:ApiCall", "ecs:Instance:StateChange"] };
}

/** The tool's bus of account `to` in `region`; across accounts through the hub's forwarder role. */
function busTarget(where: { from: string; to: string; region: string }): EventTarget {
  const sameAccount = where.from === where.to;
  return {
    Id: sameAccount ? "logtail-xacct-bus" : "logtail-xacct-hub",
    Type: "acs.eventbridge",
    Endpoint: arn.eventBus(where.region, where.to, EVENT_BUS),
    PushRetryStrategy: "BACKOFF_RETRY",
    ParamList: [
      { ResourceKey: "RegionId", Form: "CONSTANT", Value: where.region },
      { ResourceKey: "AccountType", Form: "CONSTANT", Value: sameAccount ? "SameAccount" : "AnotherAccount" },
      ...(sameAccount ? [] : [{ ResourceKey: "AccountId", Form: "CONSTANT" as const, Value: where.to }]),
      { ResourceKey: "EventBusName", Form: "CONSTANT", Value: EVENT_BUS },
      ...(sameAccount
        ? []
        : [{ ResourceKey: "RAMRoleName", Form: "CONSTANT" as const, Value: EVENT_FORWARDER_ROLE }]),
      { ResourceKey: "Body", Form: "ORIGINAL" },
    ],
  };
}

/**
 * The authorize function, invoked asynchronously (its run may take minutes); an event whose push
 * failed goes to the hub's dead-letter queue. unverified: the FC 3.0 form of the target (Alibaba's
 * examples show FC 2.0's, with a service name); this follows FC 3.0's function ARN.
 */
function authorizeTarget(hub: string, hubRegion: string): EventTarget {
  return {
    Id: "logtail-xacct-authorize",
    Type: "acs.fc.function",
    Endpoint: `acs:fc:${hubRegion}:${hub}:functions/${AUTHORIZE_FUNCTION}`,
    PushRetryStrategy: "BACKOFF_RETRY",
    ParamList: [
      { ResourceKey: "functionName", Form: "CONSTANT", Value: AUTHORIZE_FUNCTION },
      { ResourceKey: "Qualifier", Form: "CONSTANT", Value: "LATEST" },
      { ResourceKey: "InvocationType", Form: "CONSTANT", Value: "Async" },
      { ResourceKey: "Body", Form: "ORIGINAL" },
    ],
    DeadLetterQueue: { Arn: `acs:mns:${hubRegion}:${hub}:/queues/${HUB_QUEUES.deadLetter}` },
  };
}
