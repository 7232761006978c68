/**
 * Suites that need an OS tool (a sandbox, shellcheck, busybox). In CI (`CI=true`) a missing tool
 * fails the suite, so CI can never pass by running less; elsewhere the suite is reported as
 * skipped, with the reason in its title, so `npm test` still passes on a bare laptop.
 */
import { spawnSync } from "node:child_process";
import { detectSandbox } from "../../localstack/hostSandbox";

export const IN_CI = process.env.CI === "true";

export type Requirement = { met: true } | { met: false; reason: string };

export function commandRequirement(command: string, args: string[] = ["--version"]): Requirement {
  const probe = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  if (probe.error) return { met: false, reason: `${command} is not installed (${probe.error.message})` };
  return { met: true };
}

export function sandboxRequirement(): Requirement {
  const sandbox = detectSandbox();
  return sandbox.available ? { met: true } : { met: false, reason: sandbox.reason };
}

/** bubblewrap installed and able to create its namespaces here. */
export function bwrapRequirement(): Requirement {
  const probe = spawnSync("bwrap", ["--dev-bind", "/", "/", "--tmpfs", "/mnt", "true"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  if (probe.error) return { met: false, reason: `bwrap is not installed (${probe.error.message})` };
  if (probe.status !== 0)
    return { met: false, reason: `bwrap cannot create a sandbox here: ${probe.stderr.trim()}` };
  return { met: true };
}

// A deliberate, environment-gated skip: never taken in CI (see describeRequiring).
const describeSkipped = describe.skip;

/** `describe` that runs when the requirement is met, fails in CI when it is not, and is skipped elsewhere. */
export function describeRequiring(requirement: Requirement, name: string, suite: () => void): void {
  if (requirement.met) {
    describe(name, suite);
  } else if (IN_CI) {
    describe(name, () => {
      test("has what it needs in CI", () => {
        throw new Error(`CI must provide this: ${requirement.reason}`);
      });
    });
  } else {
    describeSkipped(`${name} (skipped: ${requirement.reason})`, suite);
  }
}
