import type { AccountStore } from "./core/accounts";
import { type AdminActions, createAdminHandler } from "./core/admin";
import { EmulatorCore } from "./core/core";
import { buildEndpoints, type EndpointsDocument, writeEndpointsFile } from "./core/endpoints";
import type { FaultRule, FaultRuleInput } from "./core/faults";
import { type RateLimitRuleInput, rateLimitRuleSchema } from "./core/limits";
import type { MetricsSnapshot } from "./core/metrics";
import { installLocalhostResolver } from "./core/resolver";
import { startHttpServer } from "./core/server";
import type { CommandExecutor } from "./ecs/executor";
import { createEcsService, type EcsBackend, type EcsService } from "./ecs/index";
import { type LoadedFleet, loadFleet, readFleetFile, validateFleet } from "./fleet/load";
import type { Fleet, FleetInput } from "./fleet/schema";
import type { MnsBackend } from "./mns/index";
import type { OssBackend } from "./oss/index";
import { createPartnerServices } from "./services";
import type { SlsBackend } from "./sls/index";
import { createStsService } from "./sts/index";

export type { EndpointsDocument } from "./core/endpoints";
export { installLocalhostResolver } from "./core/resolver";
export { FleetError, loadFleet, parseFleet, readFleetFile } from "./fleet/load";
export type { Fleet, FleetInput } from "./fleet/schema";
export {
  accountSchema,
  createFleetSchema,
  fleetSchema,
  instanceSchema,
  projectSchema,
  roleSchema,
} from "./fleet/schema";

export interface StartEmulatorOptions {
  /** TCP port on 127.0.0.1; 0 or omitted = any free port. */
  port?: number;
  /** A fleet to load at start (object form, validated), or a YAML/JSON file. */
  fleet?: FleetInput;
  fleetFile?: string;
  /** Written once the server accepts requests, and again whenever accounts change. */
  endpointsFile?: string;
  /** Regions listed in the endpoints of every account (besides the regions of its instances). */
  regions?: string[];
  clock?: { startAt?: number; scale?: number };
  ecs?: { transitionSeconds?: number; executor?: CommandExecutor };
  faultSeed?: number;
  /** Resolve `*.localhost` to 127.0.0.1 in this process while the emulator runs. Default true. */
  resolveLocalhost?: boolean;
}

export interface EmulatorHandle {
  port: number;
  /** Endpoints and keys of every seeded account (the endpoints file's content). */
  readonly endpoints: EndpointsDocument;
  core: EmulatorCore;
  accounts: AccountStore;
  ecs: EcsBackend;
  sls: SlsBackend;
  mns: MnsBackend;
  oss: OssBackend;
  loadFleet(fleet: FleetInput): Promise<LoadedFleet>;
  /** Drops all state; `fleet: "initial"` (default) reloads the fleet given at start. */
  reset(options?: { fleet?: "initial" | "empty" }): Promise<void>;
  addFault(rule: FaultRuleInput): FaultRule;
  removeFault(id: string): boolean;
  clearFaults(): void;
  setRateLimits(rules: RateLimitRuleInput[]): void;
  advanceClock(ms: number): void;
  setClockScale(scale: number): void;
  now(): number;
  metrics(): MetricsSnapshot;
  resetMetrics(): void;
  setCommandExecutor(executor: CommandExecutor | undefined): void;
  stop(): Promise<void>;
}

/** Starts the emulator in-process: every service on one port of 127.0.0.1. */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<EmulatorHandle> {
  const initialFleet: Fleet | undefined =
    options.fleetFile !== undefined
      ? await readFleetFile(options.fleetFile)
      : options.fleet !== undefined
        ? validateFleet(options.fleet, "fleet option")
        : undefined;

  const core = new EmulatorCore({
    clock: options.clock ?? {},
    ...(options.faultSeed === undefined ? {} : { faultSeed: options.faultSeed }),
  });
  const ecsService: EcsService = createEcsService(core.context, {
    scheduler: core.clock,
    ...(options.ecs?.transitionSeconds === undefined
      ? {}
      : { transitionSeconds: options.ecs.transitionSeconds }),
  });
  ecsService.backend.setExecutor(options.ecs?.executor);
  const partners = createPartnerServices(core.context);
  // Copy jobs assume RAM roles: SLS checks their trust against the accounts' roles.
  partners.sls.backend.useRoles(core.accounts);
  // First: a bucket named `ecs` or `sts` (`ecs.oss-<region>.localhost`) would match ECS's or STS's
  // host pattern, and no other service's host has an `oss-` label.
  core.register(partners.oss);
  core.register(ecsService);
  core.register(createStsService(core.context, { accounts: core.accounts }));
  core.register(partners.sls);
  core.register(partners.mns);

  const applyFleet = (fleet: Fleet): LoadedFleet =>
    loadFleet(fleet, { accounts: core.accounts, ecs: ecsService.backend, sls: partners.sls.backend });
  if (initialFleet !== undefined) applyFleet(initialFleet);

  let port = 0;
  const defaultRegions = options.regions ?? ["cn-hangzhou"];
  const endpoints = (): EndpointsDocument =>
    buildEndpoints(port, core.accounts, (accountId) => [
      ...defaultRegions,
      ...ecsService.backend.listInstances({ accountId }).map((instance) => instance.regionId),
    ]);
  const publishEndpoints = async (): Promise<void> => {
    if (options.endpointsFile !== undefined) await writeEndpointsFile(options.endpointsFile, endpoints());
  };

  const handle = {
    core,
    accounts: core.accounts,
    ecs: ecsService.backend,
    sls: partners.sls.backend,
    mns: partners.mns.backend,
    oss: partners.oss.backend,
    loadFleet: async (fleet: FleetInput): Promise<LoadedFleet> => {
      const loaded = applyFleet(validateFleet(fleet));
      await publishEndpoints();
      return loaded;
    },
    reset: async (resetOptions: { fleet?: "initial" | "empty" } = {}): Promise<void> => {
      core.reset();
      if ((resetOptions.fleet ?? "initial") === "initial" && initialFleet !== undefined)
        applyFleet(initialFleet);
      await publishEndpoints();
    },
    addFault: (rule: FaultRuleInput) => core.faults.add(rule),
    removeFault: (id: string) => core.faults.remove(id),
    clearFaults: () => core.faults.reset(),
    setRateLimits: (rules: RateLimitRuleInput[]) =>
      core.limits.setRules(rules.map((rule) => rateLimitRuleSchema.parse(rule))),
    advanceClock: (ms: number) => core.clock.advance(ms),
    setClockScale: (scale: number) => core.clock.setScale(scale),
    now: () => core.clock.now(),
    metrics: () => core.metrics.snapshot(),
    resetMetrics: () => core.metrics.reset(),
    setCommandExecutor: (executor: CommandExecutor | undefined) => ecsService.backend.setExecutor(executor),
  };

  const admin: AdminActions = {
    reset: async ({ fleet }) => {
      await handle.reset({ fleet });
      return endpoints();
    },
    loadFleet: async (document) => {
      const loaded = await handle.loadFleet(validateFleet(document, "fleet body"));
      return {
        accounts: loaded.accountIds,
        instances: loaded.instances.length,
        projects: loaded.projects.length,
        endpoints: endpoints(),
      };
    },
    endpoints,
    addFault: (rule) => core.faults.add(rule),
    removeFault: handle.removeFault,
    clearFaults: handle.clearFaults,
    listFaults: () => core.faults.list(),
    setRateLimits: (rules) => core.limits.setRules(rules),
    listRateLimits: () => core.limits.listRules(),
    clock: () => ({ now: core.clock.now(), scale: core.clock.scale }),
    advanceClock: handle.advanceClock,
    setClockScale: handle.setClockScale,
    metrics: handle.metrics,
    resetMetrics: handle.resetMetrics,
    instances: (filter) => ecsService.backend.listInstances(filter).map(instanceView),
    injectDuplicateDeliveries: (fault) => partners.mns.backend.injectDuplicateDeliveries(fault),
    clearDuplicateDeliveries: () => partners.mns.backend.clearDuplicateDeliveries(),
  };

  const releaseResolver = options.resolveLocalhost === false ? () => undefined : installLocalhostResolver();
  let server: Awaited<ReturnType<typeof startHttpServer>>;
  try {
    server = await startHttpServer({
      core,
      admin: createAdminHandler(admin),
      ...(options.port === undefined ? {} : { port: options.port }),
    });
  } catch (error) {
    releaseResolver();
    throw error;
  }
  port = server.port;
  await publishEndpoints();

  let stopped = false;
  return {
    ...handle,
    port,
    get endpoints() {
      return endpoints();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      core.clock.clearTimers();
      await server.close();
      releaseResolver();
    },
  };
}

function instanceView(instance: ReturnType<EcsBackend["listInstances"]>[number]): Record<string, unknown> {
  return {
    instanceId: instance.instanceId,
    accountId: instance.accountId,
    regionId: instance.regionId,
    status: instance.status,
    osType: instance.osType,
    serialNumber: instance.serialNumber,
    privateIpAddress: instance.privateIpAddress,
    cloudAssistant: instance.cloudAssistantOnline ? "online" : "offline",
    tags: Object.fromEntries(instance.tags),
  };
}

export interface EmulatorCommandOptions {
  port?: number;
  fleetFile?: string;
  endpointsFile?: string;
  /** Where the startup summary goes (default: stdout). */
  log?: (line: string) => void;
  /** Stops the emulator like SIGINT/SIGTERM do (tests, embedding). */
  signal?: AbortSignal;
}

/**
 * `npx logtail-xacct emulator`: serves until SIGINT or SIGTERM, then stops cleanly and resolves with
 * exit code 0.
 */
export async function runEmulatorCommand(options: EmulatorCommandOptions = {}): Promise<number> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emulator = await startEmulator({
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.fleetFile === undefined ? {} : { fleetFile: options.fleetFile }),
    ...(options.endpointsFile === undefined ? {} : { endpointsFile: options.endpointsFile }),
  });
  const { endpoints } = emulator;
  log(`emulator listening on 127.0.0.1:${emulator.port} (admin: ${endpoints.admin})`);
  for (const account of endpoints.accounts) {
    log(`  account ${account.id} (${account.name}) key ${account.accessKeyId}`);
  }
  if (options.endpointsFile !== undefined) log(`endpoints written to ${options.endpointsFile}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      options.signal?.removeEventListener("abort", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (options.signal?.aborted === true) stop();
    else options.signal?.addEventListener("abort", stop);
  });
  await emulator.stop();
  log("emulator stopped");
  return 0;
}
