/** RAM policy evaluation in the emulator (emulator/core/ram.ts): actions, resources, conditions, Deny. */
import {
  evaluateAccess,
  type PolicyDocument,
  policyDocumentSchema,
  requestTagContext,
  resourceTagContext,
  wildcardMatch,
} from "../../../emulator/core/ram";

const ACCOUNT = "1700000000000397";
const instance = (id: string) => `acs:ecs:cn-hangzhou:${ACCOUNT}:instance/${id}`;
const policy = (...Statement: PolicyDocument["Statement"]): PolicyDocument => ({ Version: "1", Statement });

/** The spoke's command rule as the deployment writes it: RunCommand only where the route tag is. */
const runOnTagged = policy({
  Effect: "Allow",
  Action: ["ecs:RunCommand"],
  Resource: [`acs:ecs:cn-hangzhou:${ACCOUNT}:instance/*`],
  Condition: { StringLike: { "acs:ResourceTag/logtail-xacct-route": ["*"] } },
});

describe("evaluateAccess", () => {
  test("an Allow on the action and resource allows; nothing else is allowed", () => {
    const docs = [policy({ Effect: "Allow", Action: "ecs:DescribeInstances", Resource: instance("*") })];
    expect(
      evaluateAccess(docs, { action: "ecs:DescribeInstances", resources: [{ arn: instance("*") }] }),
    ).toEqual({
      allowed: true,
    });
    expect(evaluateAccess(docs, { action: "ecs:RunCommand", resources: [{ arn: instance("*") }] })).toEqual({
      allowed: false,
      action: "ecs:RunCommand",
      resource: instance("*"),
      explicitDeny: false,
    });
    expect(
      evaluateAccess([], { action: "ecs:DescribeInstances", resources: [{ arn: instance("*") }] }).allowed,
    ).toBe(false);
  });

  test("actions match case-insensitively with wildcards; resources with wildcards, case-sensitively", () => {
    expect(wildcardMatch("ecs:Describe*", "ecs:describeinstances", true)).toBe(true);
    expect(wildcardMatch("log:Get?ogs", "log:GetLogs", true)).toBe(true);
    expect(
      wildcardMatch("acs:log:*:*:project/a/logstore/*", "acs:log:cn-hangzhou:1:project/a/logstore/b", false),
    ).toBe(true);
    expect(wildcardMatch("acs:log:*:*:project/a/*", "acs:log:cn-hangzhou:1:project/A/x", false)).toBe(false);
    // Regular-expression characters in a pattern are literal.
    expect(wildcardMatch("acs:mns:r:1:/queues/a.b/messages", "acs:mns:r:1:/queues/aXb/messages", false)).toBe(
      false,
    );
  });

  test("a resource-tag condition: RunCommand on a tagged instance only, and every instance of a call must pass", () => {
    const tagged = {
      arn: instance("i-tagged"),
      context: resourceTagContext({ "logtail-xacct-route": "app-b-prod" }),
    };
    const bare = { arn: instance("i-bare"), context: resourceTagContext({ owner: "team-x" }) };
    expect(evaluateAccess([runOnTagged], { action: "ecs:RunCommand", resources: [tagged] }).allowed).toBe(
      true,
    );
    expect(
      evaluateAccess([runOnTagged], { action: "ecs:RunCommand", resources: [tagged, bare] }),
    ).toMatchObject({
      allowed: false,
      resource: instance("i-bare"),
    });
  });

  test("request-tag conditions: the tags a call writes", () => {
    const writeStatus = policy({
      Effect: "Allow",
      Action: "ecs:TagResources",
      Resource: instance("*"),
      Condition: { StringLike: { "acs:RequestTag/logtail-xacct-status": "*" } },
    });
    const call = (tags: Array<{ key: string; value: string }>) =>
      evaluateAccess([writeStatus], {
        action: "ecs:TagResources",
        resources: [{ arn: instance("i-1") }],
        context: requestTagContext(tags),
      }).allowed;
    expect(call([{ key: "logtail-xacct-status", value: "authorized" }])).toBe(true);
    expect(call([{ key: "owner", value: "attacker" }])).toBe(false);
  });

  test("a multi-valued key: a positive operator needs every value to match, a negated one none", () => {
    const onlyOurs = policy({
      Effect: "Allow",
      Action: "ecs:UntagResources",
      Resource: instance("*"),
      Condition: { StringEquals: { "acs:TagKeys": ["a", "b"] } },
    });
    const keys = (...names: string[]) =>
      evaluateAccess([onlyOurs], {
        action: "ecs:UntagResources",
        resources: [{ arn: instance("i-1") }],
        context: requestTagContext(names.map((key) => ({ key }))),
      }).allowed;
    expect(keys("a")).toBe(true);
    expect(keys("a", "b")).toBe(true);
    expect(keys("a", "c")).toBe(false);
  });

  test("an explicit Deny wins over any Allow", () => {
    const docs = [
      policy({ Effect: "Allow", Action: "log:*", Resource: "*" }),
      policy({ Effect: "Deny", Action: "log:DeleteProject", Resource: "*" }),
    ];
    expect(
      evaluateAccess(docs, { action: "log:DeleteProject", resources: [{ arn: "acs:log:r:1:project/p" }] }),
    ).toMatchObject({ allowed: false, explicitDeny: true });
    expect(
      evaluateAccess(docs, { action: "log:GetProject", resources: [{ arn: "acs:log:r:1:project/p" }] })
        .allowed,
    ).toBe(true);
  });

  test("a key the request lacks: a positive operator fails, a negated one holds", () => {
    const notProd = policy({
      Effect: "Allow",
      Action: "ecs:RunCommand",
      Resource: instance("*"),
      Condition: { StringNotEquals: { "acs:ResourceTag/env": "prod" } },
    });
    const run = (tags: Record<string, string>) =>
      evaluateAccess([notProd], {
        action: "ecs:RunCommand",
        resources: [{ arn: instance("i-1"), context: resourceTagContext(tags) }],
      }).allowed;
    expect(run({})).toBe(true);
    expect(run({ env: "prod" })).toBe(false);
    expect(
      evaluateAccess([runOnTagged], { action: "ecs:RunCommand", resources: [{ arn: instance("i-1") }] })
        .allowed,
    ).toBe(false);
  });

  test("a policy document is validated when loaded: an unknown operator or effect is refused", () => {
    expect(policyDocumentSchema.safeParse(runOnTagged).success).toBe(true);
    expect(
      policyDocumentSchema.safeParse({
        Version: "1",
        Statement: [
          { Effect: "Allow", Action: "ecs:*", Resource: "*", Condition: { NumericEquals: { k: "1" } } },
        ],
      }).success,
    ).toBe(false);
    expect(
      policyDocumentSchema.safeParse({
        Version: "1",
        Statement: [{ Effect: "Maybe", Action: "a", Resource: "*" }],
      }).success,
    ).toBe(false);
  });
});
