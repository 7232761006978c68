import type {
  CallScope,
  ConfigRecord,
  EtlRecord,
  LogstoreRecord,
  MachineGroupRecord,
  Page,
  ProjectRecord,
  SlsBackend,
} from "./backend";
import { dataPlaneHandlers } from "./dataPlane";
import { slsErrors } from "./errors";
import { queryHandlers } from "./queryOperations";
import type { SlsOperation } from "./routing";
import {
  createEtlBody,
  createProjectBody,
  type EtlConfiguration,
  indexBody,
  legacyConfigBody,
  logstoreBody,
  machineGroupBody,
  parseBody,
  pipelineConfigBody,
  updateEtlBody,
  updateProjectBody,
} from "./schemas";

/** What an operation handler receives once routing and authentication are done. */
export interface OperationInput {
  scope: CallScope;
  /** Project from the Host header ("" for account-level operations). */
  project: string;
  params: Readonly<Record<string, string>>;
  /** Decoded query parameters; the last value wins. */
  query: ReadonlyMap<string, string | undefined>;
  body: () => unknown;
  /** Request headers (lower-case names) and the body as received, for the data plane. */
  headers: Readonly<Record<string, string>>;
  rawBody: Buffer;
}

/**
 * `undefined` means an empty 200 response (as the real service answers writes); `binary` is a
 * protobuf answer (PullLogs) with its own headers.
 */
export type OperationResult =
  | { json: unknown; headers?: Record<string, string> }
  | { binary: Buffer; headers: Record<string, string> }
  | undefined;

export type Handler = (backend: SlsBackend, input: OperationInput) => OperationResult;

const maxPageSize = 500;

export const slsHandlers: Record<SlsOperation, Handler> = {
  CreateProject: (backend, input) => {
    const body = input.body();
    const withHostProject =
      input.project !== "" && typeof body === "object" && body !== null
        ? { projectName: input.project, ...body }
        : body;
    backend.createProject(input.scope, parseBody(createProjectBody, withHostProject));
    return undefined;
  },
  ListProject: (backend, input) => {
    const result = backend.listProjects(input.scope, page(input), optional(input, "projectName"));
    return {
      json: { count: result.items.length, total: result.total, projects: result.items.map(projectView) },
    };
  },
  GetProject: (backend, input) => ({ json: projectView(backend.getProject(input.scope, input.project)) }),
  UpdateProject: (backend, input) => {
    backend.updateProject(input.scope, input.project, parseBody(updateProjectBody, input.body()).description);
    return undefined;
  },
  DeleteProject: (backend, input) => {
    backend.deleteProject(input.scope, input.project);
    return undefined;
  },

  CreateLogStore: (backend, input) => {
    backend.createLogstore(input.scope, input.project, parseBody(logstoreBody, input.body()));
    return undefined;
  },
  ListLogStores: (backend, input) => {
    const result = backend.listLogstores(
      input.scope,
      input.project,
      page(input),
      optional(input, "logstoreName"),
    );
    return { json: { count: result.items.length, total: result.total, logstores: result.items } };
  },
  GetLogStore: (backend, input) => ({
    json: logstoreView(backend.getLogstore(input.scope, input.project, param(input, "logstore"))),
  }),
  UpdateLogStore: (backend, input) => {
    backend.updateLogstore(
      input.scope,
      input.project,
      param(input, "logstore"),
      parseBody(logstoreBody, input.body()),
    );
    return undefined;
  },
  DeleteLogStore: (backend, input) => {
    backend.deleteLogstore(input.scope, input.project, param(input, "logstore"));
    return undefined;
  },

  CreateIndex: (backend, input) => {
    backend.createIndex(
      input.scope,
      input.project,
      param(input, "logstore"),
      parseBody(indexBody, input.body()),
    );
    return undefined;
  },
  GetIndex: (backend, input) => {
    const logstore = backend.getLogstore(input.scope, input.project, param(input, "logstore"));
    const index = backend.getIndex(input.scope, input.project, logstore.name);
    return {
      json: {
        ...index.body,
        index_mode: "v2",
        storage: "pg",
        ttl: logstore.attributes.ttl ?? 30,
        lastModifyTime: seconds(index.lastModifyTime),
      },
    };
  },
  UpdateIndex: (backend, input) => {
    backend.updateIndex(
      input.scope,
      input.project,
      param(input, "logstore"),
      parseBody(indexBody, input.body()),
    );
    return undefined;
  },
  DeleteIndex: (backend, input) => {
    backend.deleteIndex(input.scope, input.project, param(input, "logstore"));
    return undefined;
  },

  CreateMachineGroup: (backend, input) => {
    backend.createMachineGroup(input.scope, input.project, parseBody(machineGroupBody, input.body()));
    return undefined;
  },
  ListMachineGroup: (backend, input) => {
    const result = backend.listMachineGroups(
      input.scope,
      input.project,
      page(input),
      optional(input, "groupName"),
    );
    return { json: { count: result.items.length, total: result.total, machinegroups: result.items } };
  },
  GetMachineGroup: (backend, input) => ({
    json: machineGroupView(backend.getMachineGroup(input.scope, input.project, param(input, "group"))),
  }),
  UpdateMachineGroup: (backend, input) => {
    const body = parseBody(machineGroupBody, input.body());
    backend.updateMachineGroup(input.scope, input.project, param(input, "group"), body);
    return undefined;
  },
  DeleteMachineGroup: (backend, input) => {
    backend.deleteMachineGroup(input.scope, input.project, param(input, "group"));
    return undefined;
  },
  ListMachines: (backend, input) => {
    const result = backend.listMachines(input.scope, input.project, param(input, "group"), page(input));
    return {
      json: {
        count: result.items.length,
        total: result.total,
        machines: result.items.map((machine) => ({
          ip: machine.ip,
          "machine-uniqueid": machine.machineUniqueId,
          "userdefined-id": machine.userDefinedId,
          lastHeartbeatTime: machine.lastHeartbeatTime,
          "host-id": machine.hostId,
        })),
      },
    };
  },
  GetAppliedConfigs: (backend, input) => {
    const configs = backend.getAppliedConfigs(input.scope, input.project, param(input, "group"));
    return { json: { count: configs.length, configs } };
  },
  ApplyConfigToMachineGroup: (backend, input) => {
    backend.applyConfigToMachineGroup(
      input.scope,
      input.project,
      param(input, "group"),
      param(input, "config"),
    );
    return undefined;
  },
  RemoveConfigFromMachineGroup: (backend, input) => {
    backend.removeConfigFromMachineGroup(
      input.scope,
      input.project,
      param(input, "group"),
      param(input, "config"),
    );
    return undefined;
  },

  CreateLogtailPipelineConfig: (backend, input) => {
    backend.createPipelineConfig(input.scope, input.project, parseBody(pipelineConfigBody, input.body()));
    return undefined;
  },
  ListLogtailPipelineConfig: (backend, input) => listConfigs(backend, input),
  GetLogtailPipelineConfig: (backend, input) => {
    const view = configView(
      backend.getConfig(input.scope, input.project, param(input, "config"), "pipeline"),
    );
    return { json: backend.settings.pipelineReadDefaults ? withServiceDefaults(view, input.project) : view };
  },
  UpdateLogtailPipelineConfig: (backend, input) => {
    const body = parseBody(pipelineConfigBody, input.body());
    backend.updatePipelineConfig(input.scope, input.project, param(input, "config"), body);
    return undefined;
  },
  DeleteLogtailPipelineConfig: (backend, input) => {
    backend.deleteConfig(input.scope, input.project, param(input, "config"), "pipeline");
    return undefined;
  },

  CreateConfig: (backend, input) => {
    backend.createLegacyConfig(input.scope, input.project, parseBody(legacyConfigBody, input.body()));
    return undefined;
  },
  ListConfig: (backend, input) => listConfigs(backend, input),
  GetConfig: (backend, input) => ({
    json: configView(backend.getConfig(input.scope, input.project, param(input, "config"), "legacy")),
  }),
  UpdateConfig: (backend, input) => {
    const body = parseBody(legacyConfigBody, input.body());
    backend.updateLegacyConfig(input.scope, input.project, param(input, "config"), body);
    return undefined;
  },
  DeleteConfig: (backend, input) => {
    backend.deleteConfig(input.scope, input.project, param(input, "config"), "legacy");
    return undefined;
  },
  GetAppliedMachineGroups: (backend, input) => {
    const groups = backend.getAppliedMachineGroups(input.scope, input.project, param(input, "config"));
    return { json: { count: groups.length, machinegroups: groups } };
  },

  CreateETL: (backend, input) => {
    backend.createEtl(input.scope, input.project, parseBody(createEtlBody, input.body()));
    return undefined;
  },
  ListETLs: (backend, input) => {
    const result = backend.listEtls(input.scope, input.project, page(input), optional(input, "logstore"));
    return {
      json: {
        count: result.items.length,
        total: result.total,
        results: result.items.map((etl) => etlView(backend, etl)),
      },
    };
  },
  GetETL: (backend, input) => ({
    json: etlView(backend, backend.getEtl(input.scope, input.project, param(input, "etl"))),
  }),
  UpdateETL: (backend, input) => {
    backend.updateEtl(
      input.scope,
      input.project,
      param(input, "etl"),
      parseBody(updateEtlBody, input.body()),
    );
    return undefined;
  },
  StartETL: (backend, input) => {
    backend.startEtl(input.scope, input.project, param(input, "etl"));
    return undefined;
  },
  StopETL: (backend, input) => {
    backend.stopEtl(input.scope, input.project, param(input, "etl"));
    return undefined;
  },
  DeleteETL: (backend, input) => {
    backend.deleteEtl(input.scope, input.project, param(input, "etl"));
    return undefined;
  },
  ...dataPlaneHandlers,
  ...queryHandlers,
};

function listConfigs(backend: SlsBackend, input: OperationInput): OperationResult {
  const filter: { configName?: string; logstoreName?: string } = {};
  const configName = optional(input, "configName");
  const logstoreName = optional(input, "logstoreName");
  if (configName !== undefined) filter.configName = configName;
  if (logstoreName !== undefined) filter.logstoreName = logstoreName;
  const result = backend.listConfigs(input.scope, input.project, page(input), filter);
  return { json: { count: result.items.length, total: result.total, configs: result.items } };
}

function param(input: OperationInput, name: string): string {
  const value = input.params[name];
  if (value === undefined) throw slsErrors.internal();
  return value;
}

function optional(input: OperationInput, name: string): string | undefined {
  const value = input.query.get(name);
  return value === undefined || value === "" ? undefined : value;
}

function page(input: OperationInput): Page {
  return {
    offset: integerParam(input, "offset", 0, Number.MAX_SAFE_INTEGER, 0),
    size: integerParam(input, "size", 1, maxPageSize, 100),
  };
}

function integerParam(
  input: OperationInput,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const raw = optional(input, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw slsErrors.parameterInvalid(`${name} must be an integer between ${min} and ${max}, got ${raw}`);
  }
  return value;
}

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function projectView(project: ProjectRecord) {
  return {
    projectName: project.name,
    description: project.description,
    region: project.region,
    owner: project.ownerAccountId,
    status: "Normal",
    createTime: String(seconds(project.createTime)),
    lastModifyTime: String(seconds(project.lastModifyTime)),
    dataRedundancyType: "LRS",
    recycleBinEnabled: false,
    resourceGroupId: "",
    location: "",
  };
}

function logstoreView(logstore: LogstoreRecord) {
  return {
    ttl: 30,
    shardCount: 2,
    autoSplit: false,
    maxSplitShard: 0,
    appendMeta: false,
    enable_tracking: false,
    mode: "standard",
    telemetryType: "None",
    productType: "",
    ...logstore.attributes,
    logstoreName: logstore.name,
    createTime: seconds(logstore.createTime),
    lastModifyTime: seconds(logstore.lastModifyTime),
  };
}

function machineGroupView(group: MachineGroupRecord) {
  return {
    groupName: group.name,
    groupType: group.groupType,
    machineIdentifyType: group.identifyType,
    machineList: group.machineList,
    groupAttribute: {
      externalName: group.groupAttribute.externalName ?? "",
      groupTopic: group.groupAttribute.groupTopic ?? "",
    },
    createTime: seconds(group.createTime),
    lastModifyTime: seconds(group.lastModifyTime),
  };
}

function configView(config: ConfigRecord) {
  return {
    ...config.body,
    configName: config.name,
    createTime: seconds(config.createTime),
    lastModifyTime: seconds(config.lastModifyTime),
  };
}

/** A pipeline config as a service that fills in fields of its own answers it (pipelineReadDefaults). */
function withServiceDefaults(view: ReturnType<typeof configView>, project: string) {
  if (!("inputs" in view)) return view;
  return {
    ...view,
    inputs: view.inputs.map((entry) => ({ MaxDirSearchDepth: 0, ...entry })),
    flushers: view.flushers.map((entry) => ({ ...entry, Project: project })),
  };
}

function etlView(backend: SlsBackend, etl: EtlRecord) {
  return {
    name: etl.name,
    displayName: etl.displayName,
    description: etl.description,
    configuration: withoutSecrets(etl.configuration),
    createTime: seconds(etl.createTime),
    lastModifiedTime: seconds(etl.lastModifiedTime),
    scheduleId: etl.scheduleId,
    status: backend.etlStatus(etl),
  };
}

/** Like the real service, never echo AccessKey secrets given for a job's source or sinks. */
function withoutSecrets(configuration: EtlConfiguration): EtlConfiguration {
  const { accessKeySecret: _source, ...rest } = configuration;
  return {
    ...rest,
    sinks: configuration.sinks.map(({ accessKeySecret: _sink, ...sink }) => sink),
  };
}
