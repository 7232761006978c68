/**
 * The hub's own credentials inside Function Compute: the STS credentials of the function's role,
 * which FC hands every invocation in `context.credentials`. Read from the context passed in, never
 * from process.env, and validated: a context without them is a deployment error.
 */
import { z } from "zod";
import type { CloudCredentials } from "../ports/credentials";

const fcContextShape = z.object({
  credentials: z.object({
    accessKeyId: z.string().min(1),
    accessKeySecret: z.string().min(1),
    securityToken: z.string().min(1).optional(),
  }),
});

export function credentialsFromFcContext(context: unknown): CloudCredentials {
  const parsed = fcContextShape.safeParse(context);
  if (!parsed.success) {
    throw new Error(
      "the FC context carries no credentials: give the function a role (s.yaml `role`) so FC issues them",
    );
  }
  const { accessKeyId, accessKeySecret, securityToken } = parsed.data.credentials;
  return { accessKeyId, accessKeySecret, ...(securityToken === undefined ? {} : { securityToken }) };
}
