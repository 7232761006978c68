import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";
import type { AccountStore } from "../core/accounts";
import type { EcsBackend, EcsInstance } from "../ecs/backend";
import { type Fleet, type FleetAccount, type FleetInstance, fleetSchema } from "./schema";

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
}

/**
 * Adds a validated fleet to the emulator: accounts (keys, roles) first, then instances, whose
 * `account` may name an account of this fleet or one already loaded.
 */
export function loadFleet<I extends FleetInstance>(
  fleet: { accounts: FleetAccount[]; instances: I[] },
  targets: { accounts: AccountStore; ecs: EcsBackend },
): LoadedFleet<I> {
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
  return {
    accountIds: fleet.accounts.map((account) => account.id),
    instances: created.map((entry) => entry.instance),
    created,
  };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length === 0 ? "(root)" : issue.path.join(".")}: ${issue.message}`)
    .join("; ");
}
