/**
 * Which RAM action authorizes each cloud call, and the resource ARNs they are granted on.
 *
 * Two tables:
 * - `ADAPTER_RAM_ACTIONS`: every SDK operation `shared/adapters/*.ts` performs (the names passed to
 *   `this.call("…")`, `this.read("…")`, `this.exists("…")`, `this.createTolerant("…")`, and STS
 *   AssumeRole). A test extracts those names from the adapters' source and requires this table to
 *   hold exactly them: a new SDK call without a RAM action, or an entry nothing calls, fails it.
 * - `SERVICE_RAM_ACTIONS`: what Alibaba Cloud services do with roles this project creates for them
 *   (SLS reading and writing for the copy job, EventBridge putting forwarded events).
 *
 * Sources (checked; the URL is where the action name and resource were read):
 * - ECS: RAM action list with resource types,
 *   https://www.alibabacloud.com/help/en/ecs/developer-reference/api-ecs-2014-05-26-ram, and the Cloud
 *   Assistant sample policies (RunCommand: `instance/*` only unless KeepCommand; DescribeInvocations:
 *   `instance/*` and `command/*`),
 *   https://www.alibabacloud.com/help/en/ecs/user-guide/use-the-label-to-control-the-cloud-assistant-command
 * - MNS: each API page's authorization table, e.g. BatchSendMessage → `mns:BatchSendMessage` on
 *   `acs:mns:$region:$accountid:/queues/$queueName/messages`,
 *   https://www.alibabacloud.com/help/doc-detail/35135.htm (BatchReceiveMessage 35137, BatchDeleteMessage
 *   35139, ChangeMessageVisibility 35142). Batch operations have their own actions, not SendMessage's.
 * - SLS: "Authentication rules" (resource per action, incl. ApplyConfigToGroup / RemoveConfigFromGroup
 *   on both the config and the machine group), https://www.alibabacloud.com/help/doc-detail/29052.htm;
 *   "Resource list", https://help.aliyun.com/en/sls/developer-reference/resource-list; and the 2020-12-30
 *   API pages (CreateProject, CreateLogStore, CreateIndex, CreateMachineGroup, GetAppliedConfigs,
 *   GetETL, ListETLs, Get/Update/CreateLogtailPipelineConfig), e.g.
 *   https://www.alibabacloud.com/help/en/sls/developer-reference/api-sls-2020-12-30-createlogstore;
 *   GetLogs → `log:GetLogStoreLogs` on the logstore: the SLS query-error reference,
 *   https://sls.aliyun.com/doc/sqlerror/innermost_sql_missing_from.html
 * - SLS copy-job roles: https://www.alibabacloud.com/help/en/log-service/latest/access-data-by-using-a-custom-role
 *   (read role actions) and the cross-account custom-role scenario (write role `log:Post*`,
 *   `log:BatchPost*`; trust `<source UID>@log.aliyuncs.com`), aliyun-sls/sls-doc
 *   src/dataprocessdemo/defined_role_data_flow_of_cross_account.md.
 * - OSS: "RAM Policy" (bucket- and object-level actions; resource `acs:oss:*:<uid>:<bucket>/<object>`),
 *   https://www.alibabacloud.com/help/en/oss/user-guide/how-oss-works-with-ram and "Authorization
 *   syntax and elements", https://www.alibabacloud.com/help/en/oss/user-guide/authorization-syntax-and-elements
 * - STS: https://www.alibabacloud.com/help/en/ram/developer-reference/aliyunstsassumeroleaccess
 * - EventBridge: AliyunEventBridgePutEventsPolicy (`eventbridge:PutEvents`),
 *   https://alibabacloud.com/help/en/ram/developer-reference/aliyuneventbridgeputeventspolicy; bus ARN
 *   `acs:eventbridge:<region>:<uid>:eventbus/<name>` from the event-target parameters page.
 */

/** SDK operation → the RAM actions that authorize it. Sorted by service, then name. */
export const ADAPTER_RAM_ACTIONS = {
  // ECS (Cloud Assistant and tags), on acs:ecs:<region>:<uid>:instance/<id> (and command/<id>).
  DescribeCloudAssistantStatus: ["ecs:DescribeCloudAssistantStatus"],
  DescribeInstances: ["ecs:DescribeInstances"],
  DescribeInvocations: ["ecs:DescribeInvocations"],
  RunCommand: ["ecs:RunCommand"],
  TagResources: ["ecs:TagResources"],
  UntagResources: ["ecs:UntagResources"],

  // MNS, on acs:mns:<region>:<uid>:/queues/<queue>/messages.
  BatchDeleteMessage: ["mns:BatchDeleteMessage"],
  BatchReceiveMessage: ["mns:BatchReceiveMessage"],
  BatchSendMessage: ["mns:BatchSendMessage"],
  ChangeMessageVisibility: ["mns:ChangeMessageVisibility"],

  // OSS, on acs:oss:*:<uid>:<bucket>[/<object>] (the hub's snapshot bucket).
  GetObject: ["oss:GetObject"],
  PutObject: ["oss:PutObject"],

  // SLS, on acs:log:<region>:<uid>:project/<project>[/logstore|machinegroup|logtailconfig|job/<name>].
  ApplyConfigToMachineGroup: ["log:ApplyConfigToGroup"],
  // unverified: the 2020-12-30 API page discloses no action; the older pages and Alibaba's ETL operator policy use log:CreateETL's siblings log:GetETL / log:ListETLs.
  // unverified: whether CreateETL checks ram:PassRole on configuration.roleArn (the read role); Alibaba's console flow asks for AliyunRAMFullAccess/ReadOnlyAccess. Granted on that one role only.
  CreateETL: ["log:CreateETL", "ram:PassRole"],
  CreateIndex: ["log:CreateIndex"],
  CreateLogStore: ["log:CreateLogStore"],
  CreateLogtailPipelineConfig: ["log:CreateLogtailPipelineConfig"],
  CreateMachineGroup: ["log:CreateMachineGroup"],
  CreateProject: ["log:CreateProject"],
  GetAppliedConfigs: ["log:GetAppliedConfigs"],
  GetETL: ["log:GetETL"],
  GetIndex: ["log:GetIndex"],
  GetLogStore: ["log:GetLogStore"],
  // Search and SQL alike, on the logstore queried.
  GetLogs: ["log:GetLogStoreLogs"],
  GetLogtailPipelineConfig: ["log:GetLogtailPipelineConfig"],
  GetMachineGroup: ["log:GetMachineGroup"],
  GetProject: ["log:GetProject"],
  ListETLs: ["log:ListETLs"],
  ListMachines: ["log:ListMachines"],
  // unverified: Alibaba's docs disagree on the name: "Authentication rules" and the action list say
  // log:RemoveConfigFromGroup, the system policies (e.g. AliyunCSManagedLogRolePolicy) list
  // log:RemoveConfigFromMachineGroup, the API page discloses none. Both, on the same one binding.
  RemoveConfigFromMachineGroup: ["log:RemoveConfigFromGroup", "log:RemoveConfigFromMachineGroup"],
  UpdateIndex: ["log:UpdateIndex"],
  UpdateLogtailPipelineConfig: ["log:UpdateLogtailPipelineConfig"],
  UpdateMachineGroup: ["log:UpdateMachineGroup"],

  // STS, on acs:ram::<uid>:role/<name>.
  AssumeRole: ["sts:AssumeRole"],
} as const satisfies Record<string, readonly string[]>;

export type AdapterOperation = keyof typeof ADAPTER_RAM_ACTIONS;

/**
 * What Alibaba Cloud services do with the roles made for them: the SLS copy job reads the source
 * logstore as a consumer group and writes to the destination; EventBridge puts forwarded events.
 */
export const SERVICE_RAM_ACTIONS = {
  // Copy job, read role (source logstore and its consumer groups).
  ConsumerGroupHeartBeat: ["log:ConsumerGroupHeartBeat"],
  ConsumerGroupUpdateCheckPoint: ["log:ConsumerGroupUpdateCheckPoint"],
  CreateConsumerGroup: ["log:CreateConsumerGroup"],
  GetConsumerGroupCheckPoint: ["log:GetConsumerGroupCheckPoint"],
  // GetCursor, GetCursorTime and PullLogs share this action.
  GetCursorOrData: ["log:GetCursorOrData"],
  ListConsumerGroup: ["log:ListConsumerGroup"],
  ListShards: ["log:ListShards"],
  UpdateConsumerGroup: ["log:UpdateConsumerGroup"],

  // Copy job, write role (destination logstore).
  // unverified: which of the two the SPL job's sink calls; Alibaba's example grants log:Post* and
  // log:BatchPost*. Both write to the one logstore, so granting both adds no capability.
  BatchPostLogStoreLogs: ["log:BatchPostLogStoreLogs"],
  PostLogStoreLogs: ["log:PostLogStoreLogs"],

  // EventBridge, the forwarder role in the hub.
  PutEvents: ["eventbridge:PutEvents"],
} as const satisfies Record<string, readonly string[]>;

export type ServiceOperation = keyof typeof SERVICE_RAM_ACTIONS;
export type Operation = AdapterOperation | ServiceOperation;

export function isAdapterOperation(name: string): name is AdapterOperation {
  return Object.hasOwn(ADAPTER_RAM_ACTIONS, name);
}

export function isServiceOperation(name: string): name is ServiceOperation {
  return Object.hasOwn(SERVICE_RAM_ACTIONS, name);
}

/** The RAM actions that authorize one operation. */
export function ramActionsOf(operation: Operation): readonly string[] {
  return isAdapterOperation(operation) ? ADAPTER_RAM_ACTIONS[operation] : SERVICE_RAM_ACTIONS[operation];
}

/** The RAM actions of several operations: deduplicated, sorted. */
export function ramActionsFor(operations: Iterable<Operation>): string[] {
  const actions = new Set<string>();
  for (const operation of operations) for (const action of ramActionsOf(operation)) actions.add(action);
  return [...actions].sort();
}

/** Resource ARNs, in the forms the sources above give. */
export const arn = {
  role: (uid: string, name: string) => `acs:ram::${uid}:role/${name}`,
  /** The account itself as a trust principal ("any RAM identity the account authorizes"). */
  accountRoot: (uid: string) => `acs:ram::${uid}:root`,

  ecsInstances: (region: string, uid: string) => `acs:ecs:${region}:${uid}:instance/*`,
  ecsCommands: (region: string, uid: string) => `acs:ecs:${region}:${uid}:command/*`,

  /** Objects of a bucket under a prefix (`listings/`), or one object. */
  ossObjects: (uid: string, bucket: string, keyPattern: string) => `acs:oss:*:${uid}:${bucket}/${keyPattern}`,

  mnsQueueMessages: (region: string, uid: string, queue: string) =>
    `acs:mns:${region}:${uid}:/queues/${queue}/messages`,

  slsProject: (region: string, uid: string, project: string) => `acs:log:${region}:${uid}:project/${project}`,
  slsLogstore: (region: string, uid: string, project: string, logstore: string) =>
    `acs:log:${region}:${uid}:project/${project}/logstore/${logstore}`,
  slsConsumerGroups: (region: string, uid: string, project: string, logstore: string) =>
    `acs:log:${region}:${uid}:project/${project}/logstore/${logstore}/consumergroup/*`,
  slsMachineGroup: (region: string, uid: string, project: string, group: string) =>
    `acs:log:${region}:${uid}:project/${project}/machinegroup/${group}`,
  // unverified: the pipeline-config API pages show "All Resources"; Alibaba's own Log Audit policy
  // grants log:GetLogtailPipelineConfig on project/*/logtailconfig/*, the form used here, per config.
  slsLogtailConfig: (region: string, uid: string, project: string, config: string) =>
    `acs:log:${region}:${uid}:project/${project}/logtailconfig/${config}`,
  // unverified: the ETL API pages show "All Resources"; Alibaba's ETL operator policy grants
  // log:* on project/<project>/job/*, the form used here, per job (ListETLs: job/* of the project).
  slsJob: (region: string, uid: string, project: string, job: string) =>
    `acs:log:${region}:${uid}:project/${project}/job/${job}`,

  // unverified: that PutEvents authorizes per bus; the system policy grants it on "*". The bus ARN
  // form is the documented event-target endpoint.
  eventBus: (region: string, uid: string, bus: string) => `acs:eventbridge:${region}:${uid}:eventbus/${bus}`,
} as const;
