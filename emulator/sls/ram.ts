/**
 * The RAM authorization each SLS operation needs: "Authentication rules" (resource per action;
 * ApplyConfigToGroup / RemoveConfigFromGroup on both the machine group and the config) and the
 * resource list: `acs:log:<region>:<uid>:project/<project>[/logstore|machinegroup|logtailconfig|job/<name>]`.
 * Most actions are `log:<Operation>`; the exceptions are named below. Resources are the caller's own
 * account's: another account's project is refused by the backend whatever RAM says.
 */
import type { AccessRequest } from "../core/ram";
import type { SlsOperation } from "./routing";

/** Operations whose RAM action is not `log:<Operation>`. */
const ACTIONS: Partial<Record<SlsOperation, string>> = {
  PutLogs: "log:PostLogStoreLogs",
  GetLogs: "log:GetLogStoreLogs",
  GetLogsV2: "log:GetLogStoreLogs",
  GetHistograms: "log:GetLogStoreHistogram",
  GetCursor: "log:GetCursorOrData",
  PullLogs: "log:GetCursorOrData",
  ApplyConfigToMachineGroup: "log:ApplyConfigToGroup",
  // unverified: Alibaba's pages name it two ways (the system policies say RemoveConfigFromMachineGroup).
  RemoveConfigFromMachineGroup: "log:RemoveConfigFromGroup",
  ListLogtailPipelineConfig: "log:ListConfig",
  ListProject: "log:ListProject",
};

export interface SlsRamInput {
  operation: SlsOperation;
  accountId: string;
  region: string;
  /** The project the request is sent to (the host's), or undefined. */
  project: string | undefined;
  params: Readonly<Record<string, string>>;
  /** The JSON body, read only by the create operations that name their resource there. */
  body: () => unknown;
}

export function slsRamRequest(input: SlsRamInput): AccessRequest {
  const { operation, params } = input;
  const base = `acs:log:${input.region}:${input.accountId}`;
  const project = input.project ?? stringField(input.body(), "projectName") ?? "*";
  const inProject = (path: string) => `${base}:project/${project}/${path}`;
  const action = ACTIONS[operation] ?? `log:${operation}`;
  const one = (arn: string): AccessRequest => ({ action, resources: [{ arn }] });
  switch (operation) {
    case "ListProject":
      return one(`${base}:project/*`);
    case "CreateProject":
    case "GetProject":
    case "UpdateProject":
    case "DeleteProject":
      return one(`${base}:project/${project}`);
    case "ListLogStores":
      return one(inProject("logstore/*"));
    case "CreateLogStore":
      return one(inProject(`logstore/${stringField(input.body(), "logstoreName") ?? "*"}`));
    case "ListMachineGroup":
      return one(inProject("machinegroup/*"));
    case "CreateMachineGroup":
      return one(inProject(`machinegroup/${stringField(input.body(), "groupName") ?? "*"}`));
    case "ApplyConfigToMachineGroup":
    case "RemoveConfigFromMachineGroup":
      return {
        action,
        resources: [
          { arn: inProject(`machinegroup/${params.group ?? "*"}`) },
          { arn: inProject(`logtailconfig/${params.config ?? "*"}`) },
        ],
      };
    case "ListLogtailPipelineConfig":
    case "ListConfig":
      return one(inProject("logtailconfig/*"));
    case "CreateLogtailPipelineConfig":
    case "CreateConfig":
      return one(inProject(`logtailconfig/${stringField(input.body(), "configName") ?? "*"}`));
    case "ListETLs":
      return one(inProject("job/*"));
    case "CreateETL":
      return one(inProject(`job/${stringField(input.body(), "name") ?? "*"}`));
    default:
      if (params.logstore !== undefined) return one(inProject(`logstore/${params.logstore}`));
      if (params.group !== undefined) return one(inProject(`machinegroup/${params.group}`));
      if (params.config !== undefined) return one(inProject(`logtailconfig/${params.config}`));
      if (params.etl !== undefined) return one(inProject(`job/${params.etl}`));
      return one(`${base}:project/${project}`);
  }
}

/**
 * The role a CreateETL body names for the job to read with: the caller passes it, so RAM checks
 * `ram:PassRole` on it. unverified: whether SLS checks PassRole (the product grants it on the one read
 * role either way).
 */
export function etlReadRole(body: unknown): string | undefined {
  const configuration = isRecord(body) ? body.configuration : undefined;
  return stringField(configuration, "roleArn");
}

function stringField(value: unknown, field: string): string | undefined {
  if (!isRecord(value)) return undefined;
  const found = value[field];
  return typeof found === "string" && found !== "" ? found : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
