/**
 * The generated RAM policies stay exact: every SDK call the adapters make has a RAM action, the
 * roles grant exactly the actions of the calls their principal makes (no more, no fewer), resources
 * are the ones the routes file names, the trust policies trust exactly who assumes the role, and
 * `logtail-xacct policies` writes the files atomically with a setup script that passes bash -n and
 * shellcheck.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import {
  GENERATED_MARKER,
  registerPoliciesCommand,
  renderDeploymentFiles,
} from "../../cli/commands/policies";
import { bufferIo } from "../../cli/io";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { RoutesFile } from "../../shared/config/routesSchema";
import {
  buildDeployment,
  DeploymentConflictError,
  type DeploymentDocuments,
  grantedActions,
  operationsFor,
  POLICY_DOCUMENT_LIMIT,
  type RoleDocuments,
} from "../../shared/deploy/policies";
import {
  ADAPTER_RAM_ACTIONS,
  isAdapterOperation,
  isServiceOperation,
  ramActionsFor,
  SERVICE_RAM_ACTIONS,
} from "../../shared/deploy/ramActions";
import { copyPartName, MAX_COPY_PARTS, routeCopyJobName } from "../../shared/domain/copyJob";
import { commandRequirement, describeRequiring } from "../support/requires";

const ROOT = join(__dirname, "../..");
const EXAMPLE = join(ROOT, "config/routes.example.yaml");
const ADAPTERS = join(ROOT, "shared/adapters");
const HUB = "1200000000000456";
const APP_B = "1700000000000397";
const PAYMENTS = "1800000000000512";

const CALL_SITE = /this\.(?:call|read|exists|createTolerant)\s*(?:<[^>()]*>)?\(\s*/g;
const NAMED_CALL = /this\.(?:call|read|exists|createTolerant)\s*(?:<[^>()]*>)?\(\s*"([A-Za-z][A-Za-z0-9]*)"/g;

function adapterSources(): Array<{ file: string; text: string }> {
  return readdirSync(ADAPTERS)
    .filter((file) => file.endsWith(".ts"))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(ADAPTERS, file), "utf8") }));
}

/** Every SDK operation the adapters name at their call sites, plus STS AssumeRole. */
function adapterOperations(): Set<string> {
  const operations = new Set<string>();
  for (const { text } of adapterSources()) {
    for (const match of text.matchAll(NAMED_CALL)) {
      const name = match[1];
      if (name !== undefined) operations.add(name);
    }
  }
  const sts = readFileSync(join(ADAPTERS, "assumeRoleCredentials.ts"), "utf8");
  if (/\.assumeRole\(/.test(sts) && sts.includes('operation: "AssumeRole"')) operations.add("AssumeRole");
  return operations;
}

function exampleDeployment(): DeploymentDocuments {
  return buildDeployment(loadRoutesConfig(EXAMPLE));
}

function allRoles(documents: DeploymentDocuments): RoleDocuments[] {
  return documents.accounts.flatMap((account) => account.roles);
}

function findRole(documents: DeploymentDocuments, accountId: string, name: string): RoleDocuments {
  const role = allRoles(documents).find((r) => r.accountId === accountId && r.name === name);
  if (role === undefined) throw new Error(`no role ${accountId}/${name}`);
  return role;
}

function sorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** A role's statements whose actions match `pattern`, as "action,action" → resources. */
function statementsOf(role: RoleDocuments, pattern: RegExp): Record<string, string[]> {
  return Object.fromEntries(
    role.policy.Statement.filter((s) => s.Action.some((a) => pattern.test(a))).map((s) => [
      s.Action.join(","),
      s.Resource,
    ]),
  );
}

/** The actions the handover added (besides the index calls, which the destination had before). */
const HANDOVER_ACTIONS = [
  "log:CreateIndex",
  "log:GetIndex",
  "log:GetLogStoreLogs",
  "log:GetLogtailPipelineConfig",
  "log:ListMachines",
  "log:UpdateIndex",
  "log:UpdateLogtailPipelineConfig",
];

describe("the RAM action table", () => {
  const operations = adapterOperations();

  test("the extraction sees the adapters' calls (a broken pattern cannot pass vacuously)", () => {
    for (const known of ["RunCommand", "BatchSendMessage", "GetLogStore", "CreateETL", "AssumeRole"]) {
      expect(operations).toContain(known);
    }
    expect(operations.size).toBeGreaterThanOrEqual(25);
  });

  test("every call site names its operation as a literal (only the adapters' own forwarding passes a variable)", () => {
    const unnamed: string[] = [];
    for (const { file, text } of adapterSources()) {
      for (const match of text.matchAll(CALL_SITE)) {
        const rest = text.slice((match.index ?? 0) + match[0].length);
        if (!rest.startsWith('"') && !rest.startsWith("operation,"))
          unnamed.push(`${file}: ${rest.slice(0, 40)}`);
      }
    }
    expect(unnamed).toEqual([]);
  });

  test("every SDK operation the adapters call has a RAM action", () => {
    const missing = [...operations].filter((operation) => !isAdapterOperation(operation));
    expect(missing).toEqual([]);
  });

  test("the table has no operation the adapters never call", () => {
    const unused = Object.keys(ADAPTER_RAM_ACTIONS).filter((operation) => !operations.has(operation));
    expect(unused).toEqual([]);
  });

  test("actions are service:Name, and service operations are not adapter operations", () => {
    const actions = [...Object.values(ADAPTER_RAM_ACTIONS), ...Object.values(SERVICE_RAM_ACTIONS)].flat();
    for (const action of actions)
      expect(action).toMatch(/^(ecs|mns|log|oss|sts|ram|eventbridge):[A-Z][A-Za-z]+$/);
    for (const operation of Object.keys(SERVICE_RAM_ACTIONS))
      expect(isAdapterOperation(operation)).toBe(false);
  });

  test("the documented names: ApplyConfigToGroup, the batch MNS actions, AssumeRole", () => {
    expect(ADAPTER_RAM_ACTIONS.ApplyConfigToMachineGroup).toEqual(["log:ApplyConfigToGroup"]);
    expect(ADAPTER_RAM_ACTIONS.RemoveConfigFromMachineGroup).toContain("log:RemoveConfigFromGroup");
    expect(ADAPTER_RAM_ACTIONS.BatchSendMessage).toEqual(["mns:BatchSendMessage"]);
    expect(ADAPTER_RAM_ACTIONS.AssumeRole).toEqual(["sts:AssumeRole"]);
  });
});

/** The functions' queries: the destination logstores of the example's two routes. */
const DESTINATION_QUERIES = {
  "log:CreateIndex,log:CreateLogStore,log:GetIndex,log:GetLogStore,log:GetLogStoreLogs,log:UpdateIndex": [
    "app-b",
    "payments",
  ].map((logstore) => `acs:log:cn-hangzhou:${HUB}:project/central-logs/logstore/${logstore}`),
};

describe("buildDeployment on the example routes", () => {
  const documents = exampleDeployment();
  const roles = allRoles(documents);
  const codeRoles = roles.filter((role) => role.principal === "code");
  const serviceRoles = roles.filter((role) => role.principal === "service");

  test("the roles, per account", () => {
    expect(roles.map((role) => `${role.accountId}/${role.name} ${role.kind}`).sort()).toEqual([
      `${HUB}/logtail-xacct-etl-write etl-write`,
      `${HUB}/logtail-xacct-event-forwarder event-forwarder`,
      `${HUB}/logtail-xacct-fc functions`,
      `${HUB}/logtail-xacct-operator operator`,
      `${APP_B}/logtail-xacct-etl-read etl-read`,
      `${APP_B}/logtail-xacct-spoke spoke`,
      `${PAYMENTS}/logtail-xacct-spoke spoke`,
    ]);
    expect(documents.accounts.map((account) => account.accountId)).toEqual([HUB, APP_B, PAYMENTS]);
    expect(documents.warnings).toEqual([]);
  });

  test("each role grants exactly the RAM actions of the operations its principal performs", () => {
    for (const role of roles) {
      expect({ role: role.arn, actions: grantedActions(role.policy) }).toEqual({
        role: role.arn,
        actions: ramActionsFor(operationsFor(role)),
      });
    }
  });

  test("code roles perform adapter operations, service roles service operations", () => {
    for (const role of codeRoles)
      for (const op of operationsFor(role)) expect(isAdapterOperation(op)).toBe(true);
    for (const role of serviceRoles)
      for (const op of operationsFor(role)) expect(isServiceOperation(op)).toBe(true);
  });

  test("together the functions' roles grant exactly what the adapters call: nothing missing, nothing extra", () => {
    const operations = adapterOperations();
    expect(sorted(codeRoles.flatMap((role) => [...operationsFor(role)]))).toEqual(sorted(operations));
    const granted = sorted(codeRoles.flatMap((role) => grantedActions(role.policy)));
    expect(granted).toEqual(ramActionsFor([...operations].filter(isAdapterOperation)));
  });

  test("resources are never '*', always in the role's own account, and wildcards only where the API cannot be narrowed", () => {
    for (const role of roles) {
      for (const statement of role.policy.Statement) {
        for (const resource of statement.Resource) {
          const where = `${role.arn}: ${statement.Action.join(",")} on ${resource}`;
          expect({ where, resource }).not.toEqual({ where, resource: "*" });
          const [, service, region, account] = /^acs:([a-z]+):([a-z0-9-]*|\*):(\d{16}):/.exec(resource) ?? [];
          expect({ where, service: service ?? "unparsed" }).not.toEqual({ where, service: "unparsed" });
          if (service === "oss") {
            // OSS resources carry no region (`*`): only the hub's snapshot bucket, only its listings,
            // censuses, budget leases and readiness records.
            expect({
              where,
              ok: /^acs:oss:\*:\d{16}:logtail-xacct-\d{16}-[a-z0-9-]+\/(listings\/|census\/|budgets\/v1\/|ready\/)\*$/.test(
                resource,
              ),
            }).toEqual({
              where,
              ok: true,
            });
            expect({ where, account }).toEqual({ where, account: role.accountId });
            continue;
          }
          if (service === "ram") {
            // sts:AssumeRole and ram:PassRole name roles: exact ARNs, no region.
            expect({ where, ok: /^acs:ram::\d{16}:role\/[A-Za-z0-9.-]+$/.test(resource) }).toEqual({
              where,
              ok: true,
            });
            continue;
          }
          expect({ where, region }).toEqual({
            where,
            region: expect.stringMatching(/^[a-z]{2,4}(-[a-z0-9]+)+$/),
          });
          expect({ where, account }).toEqual({ where, account: role.accountId });
          if (service === "ecs") {
            // Instance and command IDs are not known in advance: all of the account's in the region.
            expect({
              where,
              ok: /^acs:ecs:[a-z0-9-]+:\d{16}:(instance|command)\/\*$/.test(resource),
            }).toEqual({
              where,
              ok: true,
            });
          } else if (resource.includes("*")) {
            // ListETLs lists a project's jobs; the copy job's consumer groups are named by SLS.
            const listEtls = /\/job\/\*$/.test(resource) && statement.Action.join() === "log:ListETLs";
            const consumerGroups = /\/logstore\/[a-z0-9_-]+\/consumergroup\/\*$/.test(resource);
            expect({ where, ok: listEtls || consumerGroups }).toEqual({ where, ok: true });
          }
        }
      }
    }
  });

  test("the functions assume exactly the routes file's role ARNs", () => {
    const config = loadRoutesConfig(EXAMPLE);
    const expected = sorted([
      ...config.sourceAccounts.map((account) => account.roleArn),
      ...Object.values(config.destinations).flatMap((d) => (d.uid !== HUB && d.roleArn ? [d.roleArn] : [])),
    ]);
    const fc = findRole(documents, HUB, "logtail-xacct-fc");
    const assumeStatements = fc.policy.Statement.filter((s) => s.Action.includes("sts:AssumeRole"));
    expect(assumeStatements.flatMap((s) => s.Action)).toEqual(["sts:AssumeRole"]);
    expect(sorted(assumeStatements.flatMap((s) => s.Resource))).toEqual(expected);
  });

  test("the functions' MNS access is the hub's four queues, consuming only the heartbeat queue", () => {
    const fc = findRole(documents, HUB, "logtail-xacct-fc");
    const mns = fc.policy.Statement.filter((s) => s.Action.some((a) => a.startsWith("mns:")));
    const queues = sorted(mns.flatMap((s) => s.Resource));
    expect(queues).toEqual([
      `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-apply/messages`,
      `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-dead-letter/messages`,
      `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-heartbeat/messages`,
      `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-reconcile/messages`,
    ]);
    const receive = mns.find((s) => s.Action.includes("mns:BatchReceiveMessage"));
    expect(receive?.Resource).toEqual([
      `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-heartbeat/messages`,
    ]);
  });

  test("SLS resources are the ones the routes name: destination, retire binding, copy job", () => {
    const fc = findRole(documents, HUB, "logtail-xacct-fc");
    const slsResources = sorted(
      fc.policy.Statement.filter((s) => s.Action.some((a) => a.startsWith("log:"))).flatMap(
        (s) => s.Resource,
      ),
    );
    const base = `acs:log:cn-hangzhou:${HUB}:project/central-logs`;
    expect(slsResources).toEqual([
      base,
      `${base}/logstore/app-b`,
      `${base}/logstore/payments`,
      `${base}/logtailconfig/app-b-prod-linux`,
      `${base}/logtailconfig/app-b-prod-windows`,
      `${base}/logtailconfig/payments-prod-linux`,
      `${base}/machinegroup/app-b-prod-linux`,
      `${base}/machinegroup/app-b-prod-windows`,
      `${base}/machinegroup/payments-prod-linux`,
    ]);
    const spoke = findRole(documents, APP_B, "logtail-xacct-spoke");
    const remove = spoke.policy.Statement.find((s) => s.Action.includes("log:RemoveConfigFromGroup"));
    expect(remove?.Resource).toEqual([
      `acs:log:cn-hangzhou:${APP_B}:project/app-b-logs/logtailconfig/app-b-files`,
      `acs:log:cn-hangzhou:${APP_B}:project/app-b-logs/machinegroup/app-b-servers`,
      `acs:log:cn-shanghai:${APP_B}:project/app-b-logs/logtailconfig/app-b-files`,
      `acs:log:cn-shanghai:${APP_B}:project/app-b-logs/machinegroup/app-b-servers`,
    ]);
    const passRole = spoke.policy.Statement.find((s) => s.Action.includes("ram:PassRole"));
    expect(passRole).toEqual({
      Action: ["ram:PassRole"],
      Effect: "Allow",
      Resource: [`acs:ram::${APP_B}:role/logtail-xacct-etl-read`],
    });
    // payments has neither retire nor backfill: ECS only.
    const payments = findRole(documents, PAYMENTS, "logtail-xacct-spoke");
    expect(grantedActions(payments.policy).every((action) => action.startsWith("ecs:"))).toBe(true);
  });

  test("trust: spokes exactly the hub, FC fc.aliyuncs.com, read role log.aliyuncs.com, write role the source's SLS", () => {
    const principal = (role: RoleDocuments) => role.trust.Statement.map((s) => s.Principal);
    for (const role of roles) {
      expect(role.trust.Version).toBe("1");
      expect(role.trust.Statement.map((s) => [s.Action, s.Effect])).toEqual([["sts:AssumeRole", "Allow"]]);
    }
    // Spokes trust only the functions' and the operator's role, and only with the file's ExternalId.
    const hubRoles = [`acs:ram::${HUB}:role/logtail-xacct-fc`, `acs:ram::${HUB}:role/logtail-xacct-operator`];
    for (const [uid, externalId] of [
      [APP_B, "9c1e5f0a7b3d46e2a81f0c6d2b7e4a59"],
      [PAYMENTS, "3f8b2d6c1a9e47f0b5c2e8d1a6f3b907"],
    ] as const) {
      expect(findRole(documents, uid, "logtail-xacct-spoke").trust.Statement).toEqual([
        {
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "sts:ExternalId": externalId } },
          Effect: "Allow",
          Principal: { RAM: hubRoles },
        },
      ]);
    }
    // The operator role: the hub's own RAM identities (each needs sts:AssumeRole on it).
    expect(principal(findRole(documents, HUB, "logtail-xacct-operator"))).toEqual([
      { RAM: [`acs:ram::${HUB}:root`] },
    ]);
    expect(principal(findRole(documents, HUB, "logtail-xacct-fc"))).toEqual([
      { Service: ["fc.aliyuncs.com"] },
    ]);
    expect(principal(findRole(documents, APP_B, "logtail-xacct-etl-read"))).toEqual([
      { Service: ["log.aliyuncs.com"] },
    ]);
    expect(principal(findRole(documents, HUB, "logtail-xacct-etl-write"))).toEqual([
      { Service: [`${APP_B}@log.aliyuncs.com`] },
    ]);
    expect(principal(findRole(documents, HUB, "logtail-xacct-event-forwarder"))).toEqual([
      { Service: [`${APP_B}@eventbridge.aliyuncs.com`, `${PAYMENTS}@eventbridge.aliyuncs.com`] },
    ]);
    // No role of the deployment trusts a hub principal other than its own roles, but the operator role.
    for (const role of roles.filter((r) => r.kind === "spoke" || r.kind === "destination"))
      expect(JSON.stringify(role.trust)).not.toContain(":root");
  });

  test("the copy job's roles: read the source logstore, write the destination logstore", () => {
    const read = findRole(documents, APP_B, "logtail-xacct-etl-read");
    expect(grantedActions(read.policy)).toEqual(
      expect.arrayContaining(["log:ListShards", "log:GetCursorOrData"]),
    );
    expect(sorted(read.policy.Statement.flatMap((s) => s.Resource))).toEqual([
      `acs:log:cn-hangzhou:${APP_B}:project/app-b-logs/logstore/app-b`,
      `acs:log:cn-hangzhou:${APP_B}:project/app-b-logs/logstore/app-b/consumergroup/*`,
      `acs:log:cn-shanghai:${APP_B}:project/app-b-logs/logstore/app-b`,
      `acs:log:cn-shanghai:${APP_B}:project/app-b-logs/logstore/app-b/consumergroup/*`,
    ]);
    const write = findRole(documents, HUB, "logtail-xacct-etl-write");
    expect(write.policy.Statement).toEqual([
      {
        Action: ["log:BatchPostLogStoreLogs", "log:PostLogStoreLogs"],
        Effect: "Allow",
        Resource: [`acs:log:cn-hangzhou:${HUB}:project/central-logs/logstore/app-b`],
      },
    ]);
  });

  test("the handover: the app-b spoke gets exactly its calls, in each of app-b's regions", () => {
    const route = loadRoutesConfig(EXAMPLE).routes["app-b-prod"];
    if (route === undefined) throw new Error("example changed");
    const regions = ["cn-hangzhou", "cn-shanghai"];
    const project = (region: string) => `acs:log:${region}:${APP_B}:project/app-b-logs`;
    const names = Array.from({ length: MAX_COPY_PARTS + 1 }, (_, part) =>
      copyPartName(route, "app-b-prod", APP_B, part),
    );
    // Part 0 is the copy job the spoke could create before; every part has a name of its own.
    expect(names[0]).toBe(routeCopyJobName(route, "app-b-prod", APP_B));
    expect(new Set(names).size).toBe(MAX_COPY_PARTS + 1);
    const spoke = findRole(documents, APP_B, "logtail-xacct-spoke");
    expect(statementsOf(spoke, /^(log|ram):/)).toEqual({
      "log:CreateETL,log:GetETL": regions
        .flatMap((r) => names.map((name) => `${project(r)}/job/${name}`))
        .sort(),
      "log:CreateIndex,log:GetIndex,log:GetLogStoreLogs,log:UpdateIndex": regions.map(
        (r) => `${project(r)}/logstore/app-b`,
      ),
      "log:GetAppliedConfigs,log:ListMachines": regions.map(
        (r) => `${project(r)}/machinegroup/app-b-servers`,
      ),
      "log:GetLogtailPipelineConfig,log:UpdateLogtailPipelineConfig": regions.map(
        (r) => `${project(r)}/logtailconfig/app-b-files`,
      ),
      "log:ListETLs": regions.map((r) => `${project(r)}/job/*`),
      "log:ApplyConfigToGroup,log:RemoveConfigFromGroup,log:RemoveConfigFromMachineGroup": regions.flatMap(
        (r) => [`${project(r)}/logtailconfig/app-b-files`, `${project(r)}/machinegroup/app-b-servers`],
      ),
      // CreateETL passes the read role, and only it, for every part.
      "ram:PassRole": [`acs:ram::${APP_B}:role/logtail-xacct-etl-read`],
    });
    const payments = findRole(documents, PAYMENTS, "logtail-xacct-spoke");
    for (const action of HANDOVER_ACTIONS) expect(grantedActions(payments.policy)).not.toContain(action);
    expect(statementsOf(payments, /^(log|ram):/)).toEqual({});
  });

  test("the destination logstore of every route is queried (collecting is earned by lines), and nothing else", () => {
    const fc = findRole(documents, HUB, "logtail-xacct-fc");
    expect(statementsOf(fc, /^log:GetLogStoreLogs$/)).toEqual(DESTINATION_QUERIES);
  });

  test("every policy document is within RAM's size limit, and the parts add up to the policy", () => {
    for (const role of roles) {
      for (const part of role.policyParts) {
        const size = JSON.stringify(part.document).length;
        expect({ part: part.policyName, within: size <= POLICY_DOCUMENT_LIMIT }).toEqual({
          part: part.policyName,
          within: true,
        });
      }
      expect(role.policyParts.flatMap((part) => part.document.Statement)).toEqual(role.policy.Statement);
      expect(role.policyParts[0]?.policyName).toBe(role.policyName);
    }
    // The example's app-b spoke needs two documents: its copy parts and the tag-conditioned commands.
    expect(findRole(documents, APP_B, "logtail-xacct-spoke").policyParts.map((p) => p.policyName)).toEqual([
      "logtail-xacct-spoke-policy",
      "logtail-xacct-spoke-policy-2",
    ]);
  });

  test("event forwarding: PutEvents on the hub's buses only, in the source regions", () => {
    const forwarder = findRole(documents, HUB, "logtail-xacct-event-forwarder");
    expect(forwarder.policy.Statement).toEqual([
      {
        Action: ["eventbridge:PutEvents"],
        Effect: "Allow",
        Resource: [
          `acs:eventbridge:cn-hangzhou:${HUB}:eventbus/logtail-xacct-events`,
          `acs:eventbridge:cn-shanghai:${HUB}:eventbus/logtail-xacct-events`,
        ],
      },
    ]);
  });

  test("event forwarding: default → own custom bus → hub's bus in the region → hub's region → authorize", () => {
    const rules = documents.accounts.flatMap((account) => account.eventRules);
    const hop = (r: (typeof rules)[number]) =>
      r.rules.map(
        (rule) =>
          `${r.accountId} ${r.region} ${r.eventBusName}${r.createBus ? " (created)" : ""}: ${rule.name} → ${rule.targets.map((t) => t.Endpoint).join(", ")}`,
      );
    const bus = (region: string, uid: string) =>
      `acs:eventbridge:${region}:${uid}:eventbus/logtail-xacct-events`;
    expect(rules.flatMap(hop)).toEqual([
      `${HUB} cn-hangzhou logtail-xacct-events (created): logtail-xacct-authorize → acs:fc:cn-hangzhou:${HUB}:functions/logtail-xacct-authorize`,
      `${HUB} cn-shanghai logtail-xacct-events (created): logtail-xacct-to-hub-region → ${bus("cn-hangzhou", HUB)}`,
      `${APP_B} cn-hangzhou logtail-xacct-events (created): logtail-xacct-to-hub → ${bus("cn-hangzhou", HUB)}`,
      `${APP_B} cn-hangzhou default: logtail-xacct-forward-state-changes → ${bus("cn-hangzhou", APP_B)}`,
      `${APP_B} cn-hangzhou default: logtail-xacct-forward-tag-calls → ${bus("cn-hangzhou", APP_B)}`,
      `${APP_B} cn-shanghai logtail-xacct-events (created): logtail-xacct-to-hub → ${bus("cn-shanghai", HUB)}`,
      `${APP_B} cn-shanghai default: logtail-xacct-forward-state-changes → ${bus("cn-shanghai", APP_B)}`,
      `${APP_B} cn-shanghai default: logtail-xacct-forward-tag-calls → ${bus("cn-shanghai", APP_B)}`,
      `${PAYMENTS} cn-hangzhou logtail-xacct-events (created): logtail-xacct-to-hub → ${bus("cn-hangzhou", HUB)}`,
      `${PAYMENTS} cn-hangzhou default: logtail-xacct-forward-state-changes → ${bus("cn-hangzhou", PAYMENTS)}`,
      `${PAYMENTS} cn-hangzhou default: logtail-xacct-forward-tag-calls → ${bus("cn-hangzhou", PAYMENTS)}`,
    ]);
    for (const ruleSet of rules) {
      for (const rule of ruleSet.rules) {
        const [target] = rule.targets;
        if (target?.Endpoint.includes(`:${HUB}:`) && ruleSet.accountId !== HUB) {
          // Across accounts: only custom → custom, in one region, through the hub's forwarder role.
          expect(ruleSet.eventBusName).toBe("logtail-xacct-events");
          expect(target.Endpoint).toContain(`:${ruleSet.region}:`);
          expect(target.ParamList).toContainEqual({
            ResourceKey: "RAMRoleName",
            Form: "CONSTANT",
            Value: "logtail-xacct-event-forwarder",
          });
        }
      }
    }
    const patterns = rules.flatMap((r) => r.rules.map((rule) => rule.filterPattern));
    expect(patterns).toContainEqual({ source: ["acs.ecs"], type: ["ecs:Instance:StateChange"] });
    expect(patterns).toContainEqual({
      data: { eventName: ["AddTags", "RemoveTags", "TagResources", "UntagResources"] },
      source: ["acs.ecs"],
      type: ["ecs:ActionTrail:ApiCall"],
    });
    const authorize = rules[0]?.rules[0]?.targets[0];
    expect(authorize?.DeadLetterQueue).toEqual({
      Arn: `acs:mns:cn-hangzhou:${HUB}:/queues/logtail-xacct-dead-letter`,
    });
  });

  test("deterministic: the same file gives the same documents and files", () => {
    expect(exampleDeployment()).toEqual(documents);
    expect(renderDeploymentFiles(exampleDeployment(), "r.yaml")).toEqual(
      renderDeploymentFiles(documents, "r.yaml"),
    );
  });
});

describe("buildDeployment on other shapes", () => {
  const OTHER = "1900000000000001";

  function withOtherDestination(): RoutesFile {
    const config = loadRoutesConfig(EXAMPLE);
    return {
      ...config,
      destinations: {
        ...config.destinations,
        other: {
          uid: OTHER,
          region: "cn-beijing",
          roleArn: `acs:ram::${OTHER}:role/logtail-xacct-dest`,
          externalId: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        },
      },
      routes: {
        ...config.routes,
        "other-prod": {
          destination: "other",
          network: "internet",
          project: "other-logs",
          logstore: "other",
          machineGroup: { linux: "other-linux" },
          identifier: { linux: "other-linux" },
          logtailConfig: {
            linux: { name: "other-linux", filePaths: ["/var/log/other/*.log"], processors: [] },
          },
          heartbeatTimeoutSeconds: 600,
          deliveryTimeoutSeconds: 300,
          handover: {
            configPropagationSeconds: 120,
            sourceSilenceSeconds: 600,
            copyMarginSeconds: 60,
            checkpointSeconds: 960,
            windows: "keep-source",
          },
          sources: [{ account: PAYMENTS }],
        },
      },
    };
  }

  test("a destination other than the hub gets a role trusted by the hub, with the destination's SLS actions", () => {
    const documents = buildDeployment(withOtherDestination());
    const destination = findRole(documents, OTHER, "logtail-xacct-dest");
    expect(destination.kind).toBe("destination");
    expect(destination.trust.Statement).toEqual([
      {
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": "a1b2c3d4e5f60718293a4b5c6d7e8f90" } },
        Effect: "Allow",
        Principal: {
          RAM: [`acs:ram::${HUB}:role/logtail-xacct-fc`, `acs:ram::${HUB}:role/logtail-xacct-operator`],
        },
      },
    ]);
    expect(grantedActions(destination.policy)).toContain("log:ApplyConfigToGroup");
    expect(destination.policy.Statement.flatMap((s) => s.Resource)).toContain(
      `acs:log:cn-beijing:${OTHER}:project/other-logs/machinegroup/other-linux`,
    );
    const fc = findRole(documents, HUB, "logtail-xacct-fc");
    const assumed = fc.policy.Statement.filter((s) => s.Action.includes("sts:AssumeRole")).flatMap(
      (s) => s.Resource,
    );
    expect(assumed).toContain(`acs:ram::${OTHER}:role/logtail-xacct-dest`);
    for (const role of allRoles(documents)) {
      expect(grantedActions(role.policy)).toEqual(ramActionsFor(operationsFor(role)));
    }
  });

  test("a destination other than the hub without a handover still queries its logstore: collecting is earned by lines", () => {
    const documents = buildDeployment(withOtherDestination());
    const destination = findRole(documents, OTHER, "logtail-xacct-dest");
    const query = destination.policy.Statement.filter((s) => s.Action.includes("log:GetLogStoreLogs"));
    expect(query.flatMap((s) => s.Resource)).toEqual([
      `acs:log:cn-beijing:${OTHER}:project/other-logs/logstore/other`,
    ]);
  });

  function appBRoute(config: RoutesFile) {
    const route = config.routes["app-b-prod"];
    const source = route?.sources[0];
    if (route === undefined || source?.retire === undefined || source.backfill === undefined)
      throw new Error("example changed");
    return { route, source };
  }

  test("retire without backfill: no handover, but the retire step lists the group's machines", () => {
    const config = loadRoutesConfig(EXAMPLE);
    const { source } = appBRoute(config);
    delete source.backfill;
    const documents = buildDeployment(config);
    const spoke = findRole(documents, APP_B, "logtail-xacct-spoke");
    const project = (region: string) => `acs:log:${region}:${APP_B}:project/app-b-logs`;
    expect(statementsOf(spoke, /^(log|ram):/)).toEqual({
      "log:GetAppliedConfigs,log:ListMachines": ["cn-hangzhou", "cn-shanghai"].map(
        (r) => `${project(r)}/machinegroup/app-b-servers`,
      ),
      "log:ApplyConfigToGroup,log:RemoveConfigFromGroup,log:RemoveConfigFromMachineGroup": [
        "cn-hangzhou",
        "cn-shanghai",
      ].flatMap((r) => [
        `${project(r)}/logtailconfig/app-b-files`,
        `${project(r)}/machinegroup/app-b-servers`,
      ]),
    });
    const fc = findRole(documents, HUB, "logtail-xacct-fc");
    expect(statementsOf(fc, /^log:GetLogStoreLogs$/)).toEqual(DESTINATION_QUERIES);
  });

  test("backfill without retire: the one copy job, no parts, no queries, no config changes", () => {
    const config = loadRoutesConfig(EXAMPLE);
    const { route, source } = appBRoute(config);
    delete source.retire;
    const documents = buildDeployment(config);
    const spoke = findRole(documents, APP_B, "logtail-xacct-spoke");
    const job = routeCopyJobName(route, "app-b-prod", APP_B);
    const project = (region: string) => `acs:log:${region}:${APP_B}:project/app-b-logs`;
    expect(statementsOf(spoke, /^(log|ram):/)).toEqual({
      "log:CreateETL,log:GetETL": ["cn-hangzhou", "cn-shanghai"].map((r) => `${project(r)}/job/${job}`),
      "log:ListETLs": ["cn-hangzhou", "cn-shanghai"].map((r) => `${project(r)}/job/*`),
      "ram:PassRole": [`acs:ram::${APP_B}:role/logtail-xacct-etl-read`],
    });
    const fc = findRole(documents, HUB, "logtail-xacct-fc");
    expect(statementsOf(fc, /^log:GetLogStoreLogs$/)).toEqual(DESTINATION_QUERIES);
  });

  test("a route without backfill: a source's retire and backfill hand nothing over", () => {
    const config = loadRoutesConfig(EXAMPLE);
    const { route } = appBRoute(config);
    delete route.backfill;
    const documents = buildDeployment(config);
    const spoke = findRole(documents, APP_B, "logtail-xacct-spoke");
    const actions = grantedActions(spoke.policy);
    for (const action of [
      "log:GetLogStoreLogs",
      "log:GetLogtailPipelineConfig",
      "log:GetIndex",
      "log:CreateETL",
    ])
      expect(actions).not.toContain(action);
    expect(actions).toContain("log:ListMachines");
    expect(statementsOf(findRole(documents, HUB, "logtail-xacct-fc"), /^log:GetLogStoreLogs$/)).toEqual(
      DESTINATION_QUERIES,
    );
  });

  test("two handover routes from one account: the spoke's policy comes in more parts, each within RAM's limit", () => {
    const config = loadRoutesConfig(EXAMPLE);
    const { route } = appBRoute(config);
    config.routes["app-b-canary"] = structuredClone({ ...route, logstore: "app-b-canary" });
    const documents = buildDeployment(config);
    expect(documents.warnings).toEqual([]);
    const spoke = findRole(documents, APP_B, "logtail-xacct-spoke");
    expect(spoke.policyParts.length).toBeGreaterThan(2);
    for (const part of spoke.policyParts)
      expect(JSON.stringify(part.document).length).toBeLessThanOrEqual(POLICY_DOCUMENT_LIMIT);
  });

  test("one role used both as the spoke role and as the copy job's read role: refused", () => {
    const config = loadRoutesConfig(EXAMPLE);
    const route = config.routes["app-b-prod"];
    const source = route?.sources[0];
    if (route === undefined || source?.backfill === undefined) throw new Error("example changed");
    source.backfill.readRoleArn = `acs:ram::${APP_B}:role/logtail-xacct-spoke`;
    expect(() => buildDeployment(config)).toThrow(DeploymentConflictError);
  });
});

describe("logtail-xacct policies", () => {
  async function run(args: string[]) {
    const io = bufferIo();
    const program = new Command("logtail-xacct").exitOverride();
    registerPoliciesCommand(program, io);
    await program.parseAsync(["policies", ...args], { from: "user" });
    return io;
  }

  function listFiles(dir: string, prefix = ""): string[] {
    return readdirSync(dir, { withFileTypes: true })
      .flatMap((entry) =>
        entry.isDirectory()
          ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
          : [`${prefix}${entry.name}`],
      )
      .sort();
  }

  const parent = mkdtempSync(join(tmpdir(), "ltx-policies-"));
  const out = join(parent, "out");
  let io: ReturnType<typeof bufferIo>;

  beforeAll(async () => {
    io = await run(["--config", EXAMPLE, "--out", out]);
  });

  test("writes every role's trust and policy, the EventBridge rules, setup.sh and README.md", () => {
    expect(io.exitCode()).toBe(0);
    expect(io.stderr()).toBe("");
    expect(io.stdout()).toContain("7 roles in 3 accounts");
    expect(listFiles(out)).toEqual([
      `${HUB}/eventbridge-cn-hangzhou-logtail-xacct-events.json`,
      `${HUB}/eventbridge-cn-shanghai-logtail-xacct-events.json`,
      `${HUB}/logtail-xacct-etl-write.policy.json`,
      `${HUB}/logtail-xacct-etl-write.trust.json`,
      `${HUB}/logtail-xacct-event-forwarder.policy.json`,
      `${HUB}/logtail-xacct-event-forwarder.trust.json`,
      `${HUB}/logtail-xacct-fc.policy.json`,
      `${HUB}/logtail-xacct-fc.trust.json`,
      `${HUB}/logtail-xacct-operator.policy.json`,
      `${HUB}/logtail-xacct-operator.trust.json`,
      `${APP_B}/eventbridge-cn-hangzhou-default.json`,
      `${APP_B}/eventbridge-cn-hangzhou-logtail-xacct-events.json`,
      `${APP_B}/eventbridge-cn-shanghai-default.json`,
      `${APP_B}/eventbridge-cn-shanghai-logtail-xacct-events.json`,
      `${APP_B}/logtail-xacct-etl-read.policy.json`,
      `${APP_B}/logtail-xacct-etl-read.trust.json`,
      `${APP_B}/logtail-xacct-spoke.policy-2.json`,
      `${APP_B}/logtail-xacct-spoke.policy.json`,
      `${APP_B}/logtail-xacct-spoke.trust.json`,
      `${PAYMENTS}/eventbridge-cn-hangzhou-default.json`,
      `${PAYMENTS}/eventbridge-cn-hangzhou-logtail-xacct-events.json`,
      `${PAYMENTS}/logtail-xacct-spoke.policy.json`,
      `${PAYMENTS}/logtail-xacct-spoke.trust.json`,
      "README.md",
      "setup.sh",
    ]);
    // Nothing left beside it: the temporary directory was renamed into place.
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  test("every JSON file parses, and is the document buildDeployment made", () => {
    const documents = exampleDeployment();
    for (const file of listFiles(out).filter((f) => f.endsWith(".json"))) {
      expect(() => JSON.parse(readFileSync(join(out, file), "utf8"))).not.toThrow();
    }
    for (const role of allRoles(documents)) {
      role.policyParts.forEach((part, index) => {
        const name = `${role.name}.policy${index === 0 ? "" : `-${index + 1}`}.json`;
        const policy: unknown = JSON.parse(readFileSync(join(out, role.accountId, name), "utf8"));
        expect(policy).toEqual(part.document);
      });
      const trust: unknown = JSON.parse(
        readFileSync(join(out, role.accountId, `${role.name}.trust.json`), "utf8"),
      );
      expect(trust).toEqual(role.trust);
    }
  });

  test("setup.sh: executable, passes bash -n, one block per account with whose credentials to use", () => {
    const script = join(out, "setup.sh");
    expect(statSync(script).mode & 0o111).not.toBe(0);
    const check = spawnSync("bash", ["-n", script], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    const text = readFileSync(script, "utf8");
    // Each spoke's block says what the hub can do there; the hub's block assumes no role of its own.
    expect(text.match(/^# Blast radius: /gm)).toHaveLength(2);
    for (const uid of [APP_B, PAYMENTS])
      expect(text).toMatch(
        new RegExp(`# ---- Account ${uid}.*\\n# Blast radius: .*\\n(#.*\\n)*.*run any command as root`),
      );
    for (const uid of [HUB, APP_B, PAYMENTS]) {
      expect(text).toMatch(new RegExp(`# ---- Account ${uid}.*: run with .*credentials ----`));
      expect(text).toContain(`  ${uid}) account_${uid} ;;`);
    }
    for (const role of allRoles(exampleDeployment())) {
      expect(text).toContain(`ali ram CreateRole --RoleName '${role.name}'`);
      expect(text).toContain(
        `--AssumeRolePolicyDocument "$(cat '${role.accountId}/${role.name}.trust.json')"`,
      );
      expect(text).toContain(`--PolicyDocument "$(cat '${role.accountId}/${role.name}.policy.json')"`);
      expect(text).toContain(
        `ali ram AttachPolicyToRole --PolicyType Custom --PolicyName '${role.policyName}' \\\n    --RoleName '${role.name}'`,
      );
    }
    expect(text.match(/ali eventbridge CreateRule /g)).toHaveLength(11);
    expect(text.match(/ali eventbridge CreateEventBus /g)).toHaveLength(5);
    // Within an account, a bus is created before any rule names it as a target.
    for (const block of text.split("# ---- Account ").slice(1)) {
      const uid = block.slice(0, 16);
      for (const rule of block.matchAll(/CreateRule [\s\S]*?--EventTargets '([^']*)'/g)) {
        const endpoint = /"Endpoint":"acs:eventbridge:([a-z0-9-]+):(\d+):eventbus\//.exec(rule[1] ?? "");
        if (endpoint === null || endpoint[2] !== uid) continue;
        const bus = block.indexOf(`CreateEventBus --region '${endpoint[1]}'`);
        expect(bus).toBeGreaterThan(-1);
        expect(bus).toBeLessThan(rule.index ?? 0);
      }
    }
    // Without an account: usage, exit 2, nothing called.
    const usage = spawnSync("bash", [script], { encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("usage: ./setup.sh <account UID>");
  });

  test("the same routes file twice: byte-identical output", async () => {
    const again = join(parent, "again");
    expect((await run(["--config", EXAMPLE, "--out", again])).exitCode()).toBe(0);
    const files = listFiles(out);
    expect(listFiles(again)).toEqual(files);
    for (const file of files)
      expect(readFileSync(join(again, file), "utf8")).toBe(readFileSync(join(out, file), "utf8"));
  });

  test("an earlier output is replaced; any other directory is left alone", async () => {
    const previous = join(parent, "previous");
    expect((await run(["--config", EXAMPLE, "--out", previous])).exitCode()).toBe(0);
    writeFileSync(join(previous, "stale.json"), "{}");
    expect((await run(["--config", EXAMPLE, "--out", previous])).exitCode()).toBe(0);
    expect(existsSync(join(previous, "stale.json"))).toBe(false);
    expect(readFileSync(join(previous, "README.md"), "utf8").startsWith(GENERATED_MARKER)).toBe(true);

    const foreign = join(parent, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "notes.txt"), "mine");
    const refused = await run(["--config", EXAMPLE, "--out", foreign]);
    expect(refused.exitCode()).toBe(1);
    expect(refused.stderr()).toContain("is not an output of `logtail-xacct policies`");
    expect(readdirSync(foreign)).toEqual(["notes.txt"]);
    expect(readdirSync(parent).filter((name) => name.startsWith("."))).toEqual([]);
  });

  test("a bad routes file: exit 1 with its problems, and the output directory is not created", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltx-policies-bad-"));
    const bad = join(dir, "routes.yaml");
    writeFileSync(
      bad,
      readFileSync(EXAMPLE, "utf8").replace("roleArn: acs:ram::1800000000000512", "roleArn: acs:ram::18"),
    );
    const target = join(dir, "out");

    const result = await run(["--config", bad, "--out", target]);

    expect(result.exitCode()).toBe(1);
    expect(result.stdout()).toBe("");
    expect(result.stderr()).toMatch(
      /^.*routes\.yaml: 1 problem\n {2}sourceAccounts\[1\]\.roleArn: must be a RAM role ARN/,
    );
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir)).toEqual(["routes.yaml"]);
  });
});

describeRequiring(commandRequirement("shellcheck"), "setup.sh under shellcheck", () => {
  test("the generated setup.sh passes shellcheck", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "ltx-policies-sc-")), "out");
    const io = bufferIo();
    const program = new Command("logtail-xacct").exitOverride();
    registerPoliciesCommand(program, io);
    await program.parseAsync(["policies", "--config", EXAMPLE, "--out", out], { from: "user" });
    expect(io.exitCode()).toBe(0);

    const result = spawnSync("shellcheck", ["-s", "bash", join(out, "setup.sh")], { encoding: "utf8" });

    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});
