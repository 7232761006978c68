import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import type { AccountStore } from "../core/accounts";
import type { EcsBackend, EcsInstance } from "../ecs/backend";
import type { CallScope, SlsBackend } from "../sls/backend";
import { SlsError } from "../sls/errors";
import { type Fleet, type FleetAccount, type FleetInstance, type FleetProject, fleetSchema } from "./schema";

export class FleetError extends Error {
  override name = "FleetError";
}

/** Parses fleet text (YAML or JSON — JSON is YAML) and validates it; errors name the bad path. */
export function parseFleet(text: string, source = "fleet"): Fleet {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new FleetError(
      `${source}: not valid YAML/JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return validateFleet(document ?? {}, source);
}

export function validateFleet(document: unknown, source = "fleet"): Fleet {
  const result = fleetSchema.safeParse(document);
  if (!result.success) throw new FleetError(`${source}: ${describeIssues(result.error)}`);
  return result.data;
}

export async function readFleetFile(path: string): Promise<Fleet> {
  return parseFleet(await readFile(path, "utf8"), path);
}

export interface LoadedFleet<I extends FleetInstance = FleetInstance> {
  accountIds: string[];
  instances: EcsInstance[];
  /** Each created instance with the fleet entry it came from (a `count` entry yields several). */
  created: Array<{ spec: I; instance: EcsInstance }>;
  /** SLS projects created from the fleet's `projects`. */
  projects: Array<{ accountId: string; region: string; name: string }>;
}

/**
 * Adds a validated fleet to the emulator: accounts (keys, roles) first, then instances, whose
 * `account` may name an account of this fleet or one already loaded, then SLS projects (which need
 * `targets.sls`), created through the SLS backend's own create methods.
 */
export function loadFleet<I extends FleetInstance>(
  fleet: { accounts: FleetAccount[]; instances: I[]; projects?: FleetProject[] },
  targets: { accounts: AccountStore; ecs: EcsBackend; sls?: SlsBackend },
): LoadedFleet<I> {
  const projects = fleet.projects ?? [];
  for (const [index, account] of fleet.accounts.entries()) {
    if (targets.accounts.getAccount(account.id) !== undefined) {
      throw new FleetError(`accounts.${index}.id: account ${account.id} is already loaded`);
    }
  }
  const resolveAccount = (reference: string, index: number): string => {
    const account = targets.accounts.getAccount(reference) ?? targets.accounts.findAccountByName(reference);
    const fromFleet = fleet.accounts.find(
      (candidate) => candidate.id === reference || candidate.name === reference,
    );
    const id = account?.id ?? fromFleet?.id;
    if (id === undefined) throw new FleetError(`instances.${index}.account: unknown account "${reference}"`);
    return id;
  };
  // Validate every reference before changing anything.
  const instanceAccounts = fleet.instances.map((instance, index) => resolveAccount(instance.account, index));
  for (const [index, instance] of fleet.instances.entries()) {
    if (instance.id !== undefined && targets.ecs.getInstance(instance.id) !== undefined) {
      throw new FleetError(`instances.${index}.id: instance ${instance.id} already exists`);
    }
  }
  const projectAccounts = projects.map((project, index) => {
    const account = fleet.accounts.find(
      (candidate) => candidate.id === project.account || candidate.name === project.account,
    );
    if (account === undefined) {
      throw new FleetError(
        `projects.${index}.account: unknown account "${project.account}" (not in accounts)`,
      );
    }
    return account.id;
  });
  const sls = targets.sls;
  if (projects.length > 0 && sls === undefined) {
    throw new FleetError("projects: no SLS backend to load them into");
  }
  if (sls !== undefined) {
    for (const [index, project] of projects.entries()) {
      if (projectExists(sls, project.region, project.name)) {
        throw new FleetError(
          `projects.${index}.name: project ${project.name} already exists in ${project.region}`,
        );
      }
      const quota = sls.settings.maxConfigsPerProject;
      if (project.configs.length > quota) {
        throw new FleetError(`projects.${index}.configs: more than ${quota} configs (the per-project quota)`);
      }
    }
  }

  for (const account of fleet.accounts) {
    targets.accounts.addAccount({
      id: account.id,
      name: account.name,
      keyPrincipal: account.keyPrincipal,
      roles: account.roles,
      ...(account.accessKeyId === undefined ? {} : { accessKeyId: account.accessKeyId }),
      ...(account.accessKeySecret === undefined ? {} : { accessKeySecret: account.accessKeySecret }),
    });
  }
  const created: Array<{ spec: I; instance: EcsInstance }> = [];
  for (const [index, spec] of fleet.instances.entries()) {
    const accountId = instanceAccounts[index] ?? "";
    for (let copy = 0; copy < spec.count; copy += 1) {
      const instance = targets.ecs.addInstance({
        accountId,
        regionId: spec.region,
        osType: spec.os,
        status: spec.status,
        cloudAssistant: spec.cloudAssistant,
        tags: spec.tags,
        ...(spec.id === undefined ? {} : { instanceId: spec.id }),
        ...(spec.ip === undefined ? {} : { privateIpAddress: spec.ip }),
        ...(spec.name === undefined
          ? {}
          : { instanceName: spec.count > 1 ? `${spec.name}-${copy + 1}` : spec.name }),
      });
      created.push({ spec, instance });
    }
  }
  const loadedProjects: LoadedFleet["projects"] = [];
  if (sls !== undefined) {
    for (const [index, project] of projects.entries()) {
      const accountId = projectAccounts[index] ?? "";
      createProject(sls, accountId, project, `projects.${index}`);
      loadedProjects.push({ accountId, region: project.region, name: project.name });
    }
  }
  return {
    accountIds: fleet.accounts.map((account) => account.id),
    instances: created.map((entry) => entry.instance),
    created,
    projects: loadedProjects,
  };
}

/** Whether a project of that name exists in the region, in any account (names are unique per region). */
function projectExists(sls: SlsBackend, region: string, name: string): boolean {
  try {
    // An account no project can belong to: ProjectNotExist, or denied when the project exists.
    sls.getProject({ accountId: "", region, action: "GetProject" }, name);
    return true;
  } catch (error) {
    return !(error instanceof SlsError && error.code === "ProjectNotExist");
  }
}

/**
 * Creates one project and its resources with the calls the SLS API handlers make, so they look
 * like resources created through the API. They exist before anything else runs, so with an
 * emulated eventual-consistency delay they are created as if that long ago: visible at once.
 */
function createProject(sls: SlsBackend, accountId: string, project: FleetProject, path: string): void {
  const scope = (action: string): CallScope => ({ accountId, region: project.region, action });
  const delay = sls.settings.consistencyDelayMs;
  sls.configure({ consistencyDelayMs: 0 });
  try {
    const step = (where: string, create: () => void): void => {
      try {
        create();
      } catch (error) {
        if (error instanceof SlsError)
          throw new FleetError(`${path}${where}: ${error.code}: ${error.message}`);
        throw error;
      }
    };
    step(".name", () => sls.createProject(scope("CreateProject"), { projectName: project.name }));
    for (const [index, logstore] of project.logstores.entries()) {
      step(`.logstores.${index}`, () =>
        sls.createLogstore(scope("CreateLogStore"), project.name, {
          logstoreName: logstore,
          ttl: 30,
          shardCount: 2,
        }),
      );
    }
    for (const [index, group] of project.machineGroups.entries()) {
      step(`.machineGroups.${index}`, () =>
        sls.createMachineGroup(scope("CreateMachineGroup"), project.name, {
          groupName: group.name,
          machineIdentifyType: "userdefined",
          machineList: [...group.identifiers],
          groupType: "",
          groupAttribute: { externalName: "", groupTopic: "" },
        }),
      );
    }
    for (const [index, config] of project.configs.entries()) {
      step(`.configs.${index}`, () =>
        sls.createPipelineConfig(scope("CreateLogtailPipelineConfig"), project.name, {
          configName: config.name,
          inputs: [
            {
              Type: "input_file",
              FilePaths: [...config.filePaths],
              ...(config.allowingIncludedByMultiConfigs ? { AllowingIncludedByMultiConfigs: true } : {}),
              ...(config.appendingLogPositionMeta ? { AppendingLogPositionMeta: true } : {}),
              ...(config.tailSizeKB === undefined ? {} : { TailSizeKB: config.tailSizeKB }),
              ...(config.maxDirSearchDepth === undefined
                ? {}
                : { MaxDirSearchDepth: config.maxDirSearchDepth }),
            },
          ],

          flushers: [
            {
              Type: "flusher_sls",
              Logstore: config.logstore,
              Region: project.region,
              Endpoint: `${project.region}-intranet.log.aliyuncs.com`,
              TelemetryType: "logs",
            },
          ],
        }),
      );
    }
    for (const [index, binding] of project.bindings.entries()) {
      step(`.bindings.${index}`, () =>
        sls.applyConfigToMachineGroup(
          scope("ApplyConfigToMachineGroup"),
          project.name,
          binding.machineGroup,
          binding.config,
        ),
      );
    }
    // Already there for `delay` ms: visible at once, with the delay the backend emulates restored.
    const record = sls.getProject(scope("GetProject"), project.name);
    for (const resource of [...record.logstores.values(), ...record.configs.values()]) {
      resource.createTime -= delay;
      resource.lastModifyTime -= delay;
    }
  } finally {
    sls.configure({ consistencyDelayMs: delay });
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length === 0 ? "(root)" : issue.path.join(".")}: ${issue.message}`)
    .join("; ");
}
