/**
 * The local stack: the cloud emulator, the simulated fleet (sandboxed hosts and their agents), the
 * local EventBridge with the deployment's buses and rules (each account's ECS events forwarded to
 * the hub's bus, which invokes authorize), and the local Function Compute runtime running the
 * handlers of an s.yaml — assembled the way production is wired.
 */
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "../emulator/index";
import { defaultQueueAttributes } from "../emulator/mns/backend";
import { hubQueueSpecs } from "../shared/deploy/hubQueues";
import { type EventRuleDocuments, eventForwarding, type RoleDocuments } from "../shared/deploy/policies";
import { deadLetterBody } from "../shared/messages/deadLetters";
import type { AgentSimulatorOptions } from "./agent/agentSimulator";
import { installDeployedRoles } from "./deployedRoles";
import { type BusRouting, connectEcsEvents, LocalEventBridge } from "./eventbridge";
import { installEventRouting } from "./eventbridge/deployedRouting";
import { roleTrust } from "./eventbridge/roleTrust";
import {
  cachingProvider,
  emulatorRoleCredentials,
  type InvocationKiller,
  LocalFcRuntime,
  loadServerlessSpec,
  MnsQueueSource,
  type RuntimeLogger,
  type ServerlessSpec,
  silentLogger,
} from "./fc";
import { type SimulatedFleet, type SimulatedFleetSpec, startSimulatedFleet } from "./fleet/simulatedFleet";
import type { SimulatedHost } from "./fleet/simulatedHost";

export interface LocalStackOptions {
  fleet: SimulatedFleetSpec;
  /** The account that runs the functions and queues. */
  hubAccountId: string;
  /** Hosts' private files and Cloud Assistant scratch space. */
  workDir: string;
  /** The s.yaml whose functions run locally; none: no functions (emulator and fleet only). */
  template?: string;
  clock?: { startAt?: number; scale?: number };
  agent?: Partial<AgentSimulatorOptions>;
  endpointsFile?: string;
  logger?: RuntimeLogger;
  maxConcurrentCommands?: number;
  /** Queues the deployment creates in the hub (before any function polls them). */
  hubQueues?: readonly string[];
  /**
   * The hub's dead-letter queue: created first; every hub queue moves a message there after
   * `maxReceiveCount` deliveries, and a trigger's dead letters (an event whose invocation failed past
   * its retries) land there as records.
   */
  deadLetterQueue?: { name: string; maxReceiveCount: number };
  /** Region of the hub's functions and queues. */
  hubRegion?: string;
  /** Environment every function gets besides FC's own (the endpoints file is added when given). */
  functionEnv?: Readonly<Record<string, string>>;
  /** Chaos: kills chosen function invocations part-way (localstack/fc/invocationKill.ts). */
  killer?: InvocationKiller;
  /** Called after each command a simulated host ran. */
  onCommandFinished?: (host: SimulatedHost) => void;
  /** Seed of the emulator's fault injection (repeatable runs). */
  faultSeed?: number;
  /**
   * The deployment's event buses and rules (`eventForwarding(routes)`); without it, the same
   * forwarding for the accounts and regions of the fleet.
   */
  eventRouting?: readonly EventRuleDocuments[];
  /**
   * The deployment's RAM roles (`buildDeployment(routes)`): installed over the fleet's, so every call
   * the functions and the operator commands make is held to the generated policies.
   */
  deployedRoles?: readonly RoleDocuments[];
  /** Which reading of Alibaba's bus-to-bus routing limits the local EventBridge enforces. */
  busRouting?: BusRouting;
  /** Whether forwarded events keep `aliyunoriginalaccountid` (undocumented). */
  originalAccountId?: "kept" | "dropped";
}

export interface LocalStack {
  emulator: EmulatorHandle;
  fleet: SimulatedFleet;
  bridge: LocalEventBridge;
  runtime: LocalFcRuntime | undefined;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const emulator = await startEmulator({
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.endpointsFile ? { endpointsFile: options.endpointsFile } : {}),
    ...(options.faultSeed !== undefined ? { faultSeed: options.faultSeed } : {}),
  });
  const stops: Array<() => void | Promise<void>> = [() => emulator.stop()];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const fleet = await startSimulatedFleet(emulator, options.fleet, {
      workDir: join(options.workDir, "hosts"),
      ...(options.agent ? { agent: options.agent } : {}),
      ...(options.maxConcurrentCommands ? { maxConcurrentCommands: options.maxConcurrentCommands } : {}),
      ...(options.onCommandFinished ? { onCommandFinished: options.onCommandFinished } : {}),
    });
    stops.push(() => fleet.stop());
    if (options.deployedRoles) installDeployedRoles(emulator.accounts, options.deployedRoles);

    const clock = emulator.core.clock;
    const bridge = new LocalEventBridge({
      scheduler: clock,
      trust: roleTrust(emulator.accounts),
      ...(options.busRouting ? { busRouting: options.busRouting } : {}),
      ...(options.originalAccountId ? { originalAccountId: options.originalAccountId } : {}),
    });
    stops.push(connectEcsEvents(emulator.ecs, bridge));
    const hubRegion = options.hubRegion ?? "cn-hangzhou";

    const dlq = options.deadLetterQueue;
    if (dlq) emulator.mns.createQueue(options.hubAccountId, hubRegion, dlq.name, defaultQueueAttributes);
    for (const queue of options.hubQueues ?? []) {
      emulator.mns.createQueue(options.hubAccountId, hubRegion, queue, {
        ...defaultQueueAttributes,
        // As the deployment makes them: a message stays hidden while a function run works on it.
        visibilityTimeout: deployedVisibilitySeconds(queue) ?? defaultQueueAttributes.visibilityTimeout,
        dlqPolicy: dlq
          ? { enabled: true, deadLetterTargetQueue: dlq.name, maxReceiveCount: dlq.maxReceiveCount }
          : undefined,
      });
    }

    let runtime: LocalFcRuntime | undefined;
    if (options.template !== undefined) {
      const deployed = loadServerlessSpec(options.template, {
        env: process.env,
        config: { AccountID: options.hubAccountId },
      });
      // This runtime keeps one warm instance per function, whose gate all its invocations share:
      // the budgets are split among as many gates as there are functions, not among the
      // deployment's instances that s.yaml counts.
      const spec: ServerlessSpec = {
        ...deployed,
        functions: deployed.functions.map((fn) => ({
          ...fn,
          environmentVariables: {
            ...fn.environmentVariables,
            LOGTAIL_XACCT_BUDGET_INSTANCES: String(deployed.functions.length),
          },
        })),
      };
      // The snapshot bucket the functions are given, made as the deploy step makes it.
      for (const bucket of new Set(
        spec.functions.flatMap((fn) => fn.environmentVariables.LOGTAIL_XACCT_SNAPSHOT_BUCKET ?? []),
      ))
        emulator.oss.createBucket({ name: bucket, region: hubRegion, ownerAccountId: options.hubAccountId });
      const credentials = cachingProvider(emulatorRoleCredentials(emulator.accounts), clock);
      runtime = new LocalFcRuntime({
        spec,
        accountId: options.hubAccountId,
        scheduler: clock,
        bridge,
        credentials,
        logger: options.logger ?? silentLogger,
        ...(options.killer ? { killer: options.killer } : {}),
        // As FC's runOptions.deadLetterQueue does: the failed event goes to the queue its ARN names.
        onDeadLetter: (record) => {
          const queue = record.arn
            ? /:\/queues\/([A-Za-z][A-Za-z0-9-]{0,255})$/.exec(record.arn)?.[1]
            : undefined;
          if (queue === undefined) return;
          emulator.mns.send(options.hubAccountId, hubRegion, queue, [
            {
              // Base64, as the functions' own records travel (shared/adapters/mnsQueueAdapter.ts), so
              // every record of the queue is read the same way.
              body: Buffer.from(
                deadLetterBody({
                  function: record.function,
                  source: `trigger ${record.trigger}`,
                  reason: "InvocationFailed",
                  detail: record.error,
                  at: clock.now(),
                  original: record.event.toString("utf8"),
                }),
              ).toString("base64"),
              delaySeconds: undefined,
              priority: undefined,
            },
          ]);
        },
        extraEnv: {
          ...options.functionEnv,
          ...(options.endpointsFile ? { LOGTAIL_XACCT_ENDPOINTS_FILE: options.endpointsFile } : {}),
        },
        queues: (ref) => {
          const key = emulator.endpoints.accounts.find((account) => account.id === ref.accountId);
          if (!key)
            throw new Error(`queue ${ref.queueName}: account ${ref.accountId} has no keys in the emulator`);
          return MnsQueueSource.create({
            accountId: ref.accountId,
            endpoint: `http://${ref.accountId}.mns.${ref.region}.localhost:${emulator.port}`,
            credentials: {
              accessKeyId: key.accessKeyId,
              accessKeySecret: key.accessKeySecret,
              securityToken: "",
            },
            queueName: ref.queueName,
          });
        },
      });
      runtime.start();
      const started = runtime;
      stops.push(() => started.stop());
    }
    const started = runtime;
    installEventRouting(
      bridge,
      options.eventRouting ?? fleetForwarding(options.hubAccountId, hubRegion, options.fleet),
      started ? (name, request) => started.functionTarget(name, request) : undefined,
    );
    return { emulator, fleet, bridge, runtime, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The visibility timeout `npm run deploy` gives a hub queue (shared/deploy/hubQueues.ts). */
function deployedVisibilitySeconds(queue: string): number | undefined {
  const value = hubQueueSpecs().find((spec) => spec.name === queue)?.attributes.VisibilityTimeout;
  return typeof value === "number" ? value : undefined;
}

/** The deployment's forwarding, for the accounts and regions the fleet's instances live in. */
function fleetForwarding(hub: string, hubRegion: string, fleet: SimulatedFleetSpec): EventRuleDocuments[] {
  const accountOf = (reference: string) =>
    fleet.accounts.find((a) => a.id === reference || a.name === reference)?.id ?? reference;
  const regions = new Map<string, Set<string>>();
  for (const instance of fleet.instances) {
    const uid = accountOf(instance.account);
    regions.set(uid, (regions.get(uid) ?? new Set()).add(instance.region));
  }
  return eventForwarding({
    hub: { accountId: hub, region: hubRegion },
    sourceAccounts: [...regions].map(([uid, set]) => ({ uid, regions: [...set] })),
  });
}
