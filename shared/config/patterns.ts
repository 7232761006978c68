/**
 * The patterns every value from the routes file, a tag or a message must match before it is used.
 * The Linux and Windows host scripts validate their arguments with the same rules, and a test runs
 * one corpus through all three.
 */

/** A main-account UID: 16 digits. */
export const ACCOUNT_UID = /^[0-9]{16}$/;

/**
 * A custom identifier as written into `user_defined_id`: 1–128 of ASCII letters, digits, `.`, `_`
 * and `-`, starting with a letter or digit. No whitespace, control or shell characters: the agent
 * keeps a CR or tab as part of the identifier, and the value travels in a shell command.
 */
export const CUSTOM_IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** SLS machine group name: 3–128 of lowercase letters, digits, `-` and `_`. */
export const MACHINE_GROUP_NAME = /^[a-z0-9_-]{3,128}$/;

/** SLS project: 3–63 of lowercase letters, digits and `-`, starting and ending with a letter or digit. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** SLS logstore: 2–63 of lowercase letters, digits, `-` and `_`, starting and ending with a letter or digit. */
export const LOGSTORE_NAME = /^[a-z0-9][a-z0-9_-]{0,61}[a-z0-9]$/;

/** Logtail config name: 2–128 of lowercase letters, digits, `-` and `_`, starting and ending with a letter or digit. */
export const LOGTAIL_CONFIG_NAME = /^[a-z0-9][a-z0-9_-]{0,126}[a-z0-9]$/;

/** SLS data-transformation (ETL) job name: 2–64 of lowercase letters, digits, `-` and `_`. */
export const ETL_JOB_NAME = /^[a-z0-9][a-z0-9_-]{0,62}[a-z0-9]$/;

/**
 * A route name: it is the tag value that selects the route, matched exactly. 1–63 of lowercase
 * letters, digits and `-`, starting and ending with a letter or digit.
 */
export const ROUTE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** A region id such as `cn-hangzhou` or `ap-southeast-1`. */
export const REGION_ID = /^[a-z]{2,4}(?:-[a-z0-9]+){1,3}$/;

/** A RAM role ARN: `acs:ram::<16-digit UID>:role/<name>` (role names: 1–64 of letters, digits, `.` and `-`). */
export const ROLE_ARN = /^acs:ram::([0-9]{16}):role\/([A-Za-z0-9.-]{1,64})$/;

/**
 * An ECS tag key: 1–128 characters, not starting with `aliyun` or `acs:`, no `http://` or
 * `https://`. This project further keeps keys to printable ASCII without spaces.
 */
export const TAG_KEY = /^(?!aliyun)(?!acs:)(?!.*https?:\/\/)[A-Za-z0-9._:/=+@-]{1,128}$/;

/** An ECS instance id as the API returns it: `i-` and 6–30 lowercase letters and digits. */
export const INSTANCE_ID = /^i-[a-z0-9]{6,30}$/;

/** A Cloud Assistant invocation id (`InvokeId`), such as `t-hz0jdfwd9f1a2b`. */
export const INVOKE_ID = /^t-[A-Za-z0-9]{4,60}$/;

/** The UID a role ARN belongs to, or undefined when it is not a role ARN. */
export function roleArnAccount(arn: string): string | undefined {
  return ROLE_ARN.exec(arn)?.[1];
}
