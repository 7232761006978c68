import { slsErrors } from "./errors";
import type { QueryPair } from "./protocol";

/** Operations this emulator serves, named as in the SLS API (and the SDK's `action`). */
export const slsOperations = [
  "CreateProject",
  "ListProject",
  "GetProject",
  "UpdateProject",
  "DeleteProject",
  "CreateLogStore",
  "ListLogStores",
  "GetLogStore",
  "UpdateLogStore",
  "DeleteLogStore",
  "CreateIndex",
  "GetIndex",
  "UpdateIndex",
  "DeleteIndex",
  "CreateMachineGroup",
  "ListMachineGroup",
  "GetMachineGroup",
  "UpdateMachineGroup",
  "DeleteMachineGroup",
  "ListMachines",
  "GetAppliedConfigs",
  "ApplyConfigToMachineGroup",
  "RemoveConfigFromMachineGroup",
  "CreateLogtailPipelineConfig",
  "ListLogtailPipelineConfig",
  "GetLogtailPipelineConfig",
  "UpdateLogtailPipelineConfig",
  "DeleteLogtailPipelineConfig",
  "CreateConfig",
  "ListConfig",
  "GetConfig",
  "UpdateConfig",
  "DeleteConfig",
  "GetAppliedMachineGroups",
  "CreateETL",
  "ListETLs",
  "GetETL",
  "UpdateETL",
  "StartETL",
  "StopETL",
  "DeleteETL",
  "PutLogs",
  "ListShards",
  "GetCursor",
  "PullLogs",
  "GetLogs",
  "GetLogsV2",
  "GetHistograms",
] as const;

export type SlsOperation = (typeof slsOperations)[number];

interface Route {
  method: string;
  /** Path template: `{name}` captures one segment. */
  template: string;
  /** Whether the request is sent to `<project>.<endpoint>` (true) or to the bare endpoint (false). */
  projectHost: boolean;
  /** Required `action` query value (StartETL / StopETL share a path with UpdateETL). */
  action?: string;
  /** Required `type` query value (GetCursor / PullLogs share the shard path). */
  type?: string;
  operation: SlsOperation;
}

const routes: Route[] = [
  { method: "POST", template: "/", projectHost: false, operation: "CreateProject" },
  // The Go and Python SDKs send CreateProject to `<project>.<endpoint>`.
  { method: "POST", template: "/", projectHost: true, operation: "CreateProject" },
  { method: "GET", template: "/", projectHost: false, operation: "ListProject" },
  { method: "GET", template: "/", projectHost: true, operation: "GetProject" },
  { method: "PUT", template: "/", projectHost: true, operation: "UpdateProject" },
  { method: "DELETE", template: "/", projectHost: true, operation: "DeleteProject" },
  { method: "POST", template: "/logstores", projectHost: true, operation: "CreateLogStore" },
  { method: "GET", template: "/logstores", projectHost: true, operation: "ListLogStores" },
  // Queries share GetLogStore's and GetIndex's paths; `type` tells them apart (the Tea SDK sends
  // GetHistograms to `/index?type=histogram`, the `@alicloud/log` client to `?type=histogram`).
  { method: "GET", template: "/logstores/{logstore}", projectHost: true, type: "log", operation: "GetLogs" },
  {
    method: "GET",
    template: "/logstores/{logstore}",
    projectHost: true,
    type: "histogram",
    operation: "GetHistograms",
  },
  {
    method: "GET",
    template: "/logstores/{logstore}/index",
    projectHost: true,
    type: "histogram",
    operation: "GetHistograms",
  },
  { method: "POST", template: "/logstores/{logstore}/logs", projectHost: true, operation: "GetLogsV2" },
  { method: "GET", template: "/logstores/{logstore}", projectHost: true, operation: "GetLogStore" },
  { method: "PUT", template: "/logstores/{logstore}", projectHost: true, operation: "UpdateLogStore" },
  { method: "DELETE", template: "/logstores/{logstore}", projectHost: true, operation: "DeleteLogStore" },
  { method: "POST", template: "/logstores/{logstore}/index", projectHost: true, operation: "CreateIndex" },
  { method: "GET", template: "/logstores/{logstore}/index", projectHost: true, operation: "GetIndex" },
  { method: "PUT", template: "/logstores/{logstore}/index", projectHost: true, operation: "UpdateIndex" },
  { method: "DELETE", template: "/logstores/{logstore}/index", projectHost: true, operation: "DeleteIndex" },
  { method: "POST", template: "/machinegroups", projectHost: true, operation: "CreateMachineGroup" },
  { method: "GET", template: "/machinegroups", projectHost: true, operation: "ListMachineGroup" },
  { method: "GET", template: "/machinegroups/{group}", projectHost: true, operation: "GetMachineGroup" },
  { method: "PUT", template: "/machinegroups/{group}", projectHost: true, operation: "UpdateMachineGroup" },
  {
    method: "DELETE",
    template: "/machinegroups/{group}",
    projectHost: true,
    operation: "DeleteMachineGroup",
  },
  {
    method: "GET",
    template: "/machinegroups/{group}/machines",
    projectHost: true,
    operation: "ListMachines",
  },
  {
    method: "GET",
    template: "/machinegroups/{group}/configs",
    projectHost: true,
    operation: "GetAppliedConfigs",
  },
  {
    method: "PUT",
    template: "/machinegroups/{group}/configs/{config}",
    projectHost: true,
    operation: "ApplyConfigToMachineGroup",
  },
  {
    method: "DELETE",
    template: "/machinegroups/{group}/configs/{config}",
    projectHost: true,
    operation: "RemoveConfigFromMachineGroup",
  },
  {
    method: "POST",
    template: "/pipelineconfigs",
    projectHost: true,
    operation: "CreateLogtailPipelineConfig",
  },
  { method: "GET", template: "/pipelineconfigs", projectHost: true, operation: "ListLogtailPipelineConfig" },
  {
    method: "GET",
    template: "/pipelineconfigs/{config}",
    projectHost: true,
    operation: "GetLogtailPipelineConfig",
  },
  {
    method: "PUT",
    template: "/pipelineconfigs/{config}",
    projectHost: true,
    operation: "UpdateLogtailPipelineConfig",
  },
  {
    method: "DELETE",
    template: "/pipelineconfigs/{config}",
    projectHost: true,
    operation: "DeleteLogtailPipelineConfig",
  },
  { method: "POST", template: "/configs", projectHost: true, operation: "CreateConfig" },
  { method: "GET", template: "/configs", projectHost: true, operation: "ListConfig" },
  { method: "GET", template: "/configs/{config}", projectHost: true, operation: "GetConfig" },
  { method: "PUT", template: "/configs/{config}", projectHost: true, operation: "UpdateConfig" },
  { method: "DELETE", template: "/configs/{config}", projectHost: true, operation: "DeleteConfig" },
  {
    method: "GET",
    template: "/configs/{config}/machinegroups",
    projectHost: true,
    operation: "GetAppliedMachineGroups",
  },
  { method: "POST", template: "/etls", projectHost: true, operation: "CreateETL" },
  { method: "GET", template: "/etls", projectHost: true, operation: "ListETLs" },
  { method: "GET", template: "/etls/{etl}", projectHost: true, operation: "GetETL" },
  { method: "PUT", template: "/etls/{etl}", projectHost: true, action: "START", operation: "StartETL" },
  { method: "PUT", template: "/etls/{etl}", projectHost: true, action: "STOP", operation: "StopETL" },
  { method: "PUT", template: "/etls/{etl}", projectHost: true, operation: "UpdateETL" },
  { method: "DELETE", template: "/etls/{etl}", projectHost: true, operation: "DeleteETL" },
  // Data plane: `lb` lets the service pick the shard, `route?key=<md5 hex>` picks it by hash key.
  {
    method: "POST",
    template: "/logstores/{logstore}/shards/{route}",
    projectHost: true,
    operation: "PutLogs",
  },
  { method: "GET", template: "/logstores/{logstore}/shards", projectHost: true, operation: "ListShards" },
  {
    method: "GET",
    template: "/logstores/{logstore}/shards/{shard}",
    projectHost: true,
    type: "cursor",
    operation: "GetCursor",
  },
  {
    method: "GET",
    template: "/logstores/{logstore}/shards/{shard}",
    projectHost: true,
    type: "log",
    operation: "PullLogs",
  },
  {
    method: "GET",
    template: "/logstores/{logstore}/shards/{shard}",
    projectHost: true,
    type: "logs",
    operation: "PullLogs",
  },
];

export interface RouteMatch {
  operation: SlsOperation;
  params: Record<string, string>;
}

/** Finds the operation for a method, decoded path, host kind and query; unknown requests are an error. */
export function routeSlsRequest(
  method: string,
  path: string,
  projectHost: boolean,
  query: readonly QueryPair[],
): RouteMatch {
  const action = query.find((pair) => pair.key === "action")?.value;
  const type = query.find((pair) => pair.key === "type")?.value;
  const segments = splitPath(path);
  for (const route of routes) {
    if (route.method !== method || route.projectHost !== projectHost) continue;
    if (route.action !== undefined && route.action !== action) continue;
    if (route.type !== undefined && route.type !== type) continue;
    const params = matchTemplate(route.template, segments);
    if (params === undefined) continue;
    if (route.operation === "PutLogs" && params.route !== "lb" && params.route !== "route") continue;
    return { operation: route.operation, params };
  }
  throw slsErrors.operationNotSupported(method, path);
}

function splitPath(path: string): string[] {
  return path.split("/").filter((segment) => segment !== "");
}

function matchTemplate(template: string, segments: readonly string[]): Record<string, string> | undefined {
  const parts = splitPath(template);
  if (parts.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const segment = segments[index];
    if (segment === undefined) return undefined;
    if (part.startsWith("{") && part.endsWith("}")) params[part.slice(1, -1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}
