/**
 * RAM policy evaluation: what a role's attached permission policies let its sessions do.
 *
 * Policy language (RAM "Policy structure and syntax"): statements with `Effect` Allow or Deny,
 * `Action` and `Resource` (a string or a list; `*` and `?` wildcards), and an optional `Condition`
 * block `{operator: {key: value | values}}`. A request is allowed when some Allow statement matches
 * it and no Deny statement does; a request on several resources (RunCommand on many instances,
 * TagResources on many) needs every one allowed.
 *
 * Conditions: every key of every operator must hold (AND); the values of one key are alternatives
 * (OR). A key can be multi-valued (`acs:TagKeys`): a positive operator holds when every one of the
 * request's values matches ("the keys written are among these"), a negated one when none does.
 * unverified: RAM's multi-value rule (the product does not rely on `acs:TagKeys`), and its rule for a key the
 * request does not carry; here a positive operator fails and a negated one holds (the usual IAM
 * semantics), so an Allow conditioned on a tag grants nothing on an untagged resource.
 *
 * Pure: no clock, no I/O.
 */
import { z } from "zod";

/** Operators this emulator evaluates; a policy naming another is refused when it is loaded. */
export const CONDITION_OPERATORS = [
  "StringEquals",
  "StringNotEquals",
  "StringEqualsIgnoreCase",
  "StringNotEqualsIgnoreCase",
  "StringLike",
  "StringNotLike",
  "Bool",
] as const;
export type ConditionOperator = (typeof CONDITION_OPERATORS)[number];

const stringOrList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const conditionValues = z.union([
  z.string(),
  z.boolean(),
  z.array(z.union([z.string(), z.boolean()])).min(1),
]);

export const policyStatementSchema = z.strictObject({
  Effect: z.enum(["Allow", "Deny"]),
  Action: stringOrList,
  Resource: stringOrList,
  Condition: z
    .partialRecord(z.enum(CONDITION_OPERATORS), z.record(z.string().min(1), conditionValues))
    .optional(),
});

/** A permission (or trust) policy document: version "1" and at least one statement. */
export const policyDocumentSchema = z.strictObject({
  Version: z.literal("1"),
  Statement: z.array(policyStatementSchema).min(1),
});

export type PolicyStatement = z.output<typeof policyStatementSchema>;
export type PolicyDocument = z.output<typeof policyDocumentSchema>;

/** Condition keys of a request or of one resource, each with its values (`acs:TagKeys` has many). */
export type ConditionContext = Readonly<Record<string, readonly string[]>>;

/** One RAM authorization: an action on resources, each with its own keys (its tags), plus the request's. */
export interface AccessRequest {
  /** `service:Action`, e.g. `ecs:RunCommand`. */
  action: string;
  resources: ReadonlyArray<{ arn: string; context?: ConditionContext }>;
  /** Keys of the request itself (`acs:RequestTag/<key>`, `acs:TagKeys`). */
  context?: ConditionContext;
}

export type AccessDecision =
  | { allowed: true }
  | { allowed: false; action: string; resource: string; explicitDeny: boolean };

/** Whether the documents allow the request; on refusal, the first resource refused. */
export function evaluateAccess(documents: readonly PolicyDocument[], request: AccessRequest): AccessDecision {
  const statements = documents.flatMap((document) => document.Statement);
  for (const resource of request.resources) {
    const context = { ...request.context, ...resource.context };
    const matching = statements.filter(
      (statement) =>
        list(statement.Action).some((pattern) => wildcardMatch(pattern, request.action, true)) &&
        list(statement.Resource).some((pattern) => wildcardMatch(pattern, resource.arn, false)) &&
        conditionsHold(statement.Condition, context),
    );
    const explicitDeny = matching.some((statement) => statement.Effect === "Deny");
    if (explicitDeny || !matching.some((statement) => statement.Effect === "Allow")) {
      return { allowed: false, action: request.action, resource: resource.arn, explicitDeny };
    }
  }
  return { allowed: true };
}

/** Tag keys and values of a resource as condition keys: `acs:ResourceTag/<key>`. */
export function resourceTagContext(tags: Readonly<Record<string, string>>): ConditionContext {
  return Object.fromEntries(Object.entries(tags).map(([key, value]) => [`acs:ResourceTag/${key}`, [value]]));
}

/** The tags a request writes (or removes, values empty) as condition keys: `acs:RequestTag/<key>` and `acs:TagKeys`. */
export function requestTagContext(tags: ReadonlyArray<{ key: string; value?: string }>): ConditionContext {
  return {
    "acs:TagKeys": tags.map((tag) => tag.key),
    ...Object.fromEntries(
      tags
        .filter((tag) => tag.value !== undefined)
        .map((tag) => [`acs:RequestTag/${tag.key}`, [tag.value ?? ""]]),
    ),
  };
}

function list(value: string | readonly string[]): readonly string[] {
  return typeof value === "string" ? [value] : value;
}

function conditionsHold(condition: PolicyStatement["Condition"], context: ConditionContext): boolean {
  if (condition === undefined) return true;
  for (const [operator, keys] of Object.entries(condition) as Array<
    [ConditionOperator, Record<string, unknown>]
  >) {
    for (const [key, raw] of Object.entries(keys)) {
      const expected = (Array.isArray(raw) ? raw : [raw]).map(String);
      const actual = Object.hasOwn(context, key) ? context[key] : undefined;
      if (!operatorHolds(operator, expected, actual)) return false;
    }
  }
  return true;
}

function operatorHolds(
  operator: ConditionOperator,
  expected: readonly string[],
  actual: readonly string[] | undefined,
): boolean {
  const negated =
    operator === "StringNotEquals" ||
    operator === "StringNotEqualsIgnoreCase" ||
    operator === "StringNotLike";
  if (actual === undefined || actual.length === 0) return negated;
  const matches = (value: string): boolean =>
    expected.some((pattern) => valueMatches(operator, pattern, value));
  return negated ? !actual.some(matches) : actual.every(matches);
}

function valueMatches(operator: ConditionOperator, pattern: string, value: string): boolean {
  if (operator === "StringLike" || operator === "StringNotLike") return wildcardMatch(pattern, value, false);
  if (operator === "StringEqualsIgnoreCase" || operator === "StringNotEqualsIgnoreCase")
    return value.toLowerCase() === pattern.toLowerCase();
  return value === pattern;
}

/** `*` any run of characters, `?` one character; actions are case-insensitive (RAM: `ecs:describe*` works). */
export function wildcardMatch(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`, ignoreCase ? "is" : "s").test(value);
}
