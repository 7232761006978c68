/**
 * What a host command's result means for the instance (commandFailure): the script's report and
 * Cloud Assistant's verdict, read in one place for authorize and the later check-command look.
 */
import type { HostReport } from "../../../shared/hostscript/hostReport";
import type { InvocationResult } from "../../../shared/ports/ecs";
import { commandFailure } from "../../../shared/usecases/hostCommandOutcome";

function report(overrides: Partial<HostReport> = {}): string {
  const base: HostReport = {
    tool: "logtail-xacct",
    scriptVersion: 1,
    action: "authorize",
    ok: true,
    changed: { uidFile: true, identifiers: true },
    uidFiles: ["1200000000000456"],
    identifiers: ["app-b-prod-linux"],
    agent: { flavor: "ilogtail", control: "initd", running: true, restarted: true, restartError: null },
    host: { dmiUuid: null, ip: "10.0.0.1", hostname: "h1", agentVersion: "2.1.1" },
    error: null,
  };
  return `${JSON.stringify({ ...base, ...overrides })}\n`;
}

const result = (overrides: Partial<InvocationResult>): InvocationResult => ({
  instanceId: "i-1",
  status: "Success",
  finished: true,
  exitCode: 0,
  output: report(),
  dropped: 0,
  ...overrides,
});

describe("commandFailure", () => {
  test("a successful run whose report is ok: no failure", () => {
    expect(commandFailure(result({}))).toBeUndefined();
  });

  test("the script refused an old agent (exit 5): failed:AgentTooOld with the version found", () => {
    const refused = report({
      ok: false,
      changed: { uidFile: false, identifiers: false },
      host: { dmiUuid: null, ip: "10.0.0.1", hostname: "h1", agentVersion: "1.8.7" },
      error: { code: "AgentTooOld", message: "Logtail before 2.0 lacks the options" },
    });

    expect(commandFailure(result({ status: "Failed", exitCode: 5, output: refused }))).toEqual({
      status: { stage: "failed", reason: "AgentTooOld" },
      reason: "AgentTooOld",
      detail: "Logtail before 2.0 lacks the options (found 1.8.7)",
    });
  });

  test("a run that ended Success with a report that is not ok, or no report: HostScriptFailed", () => {
    const notOk = report({
      ok: false,
      error: { code: "LockTimeout", message: "another run holds the lock" },
    });

    expect(commandFailure(result({ output: notOk }))).toEqual({
      status: { stage: "failed", reason: "HostScriptFailed" },
      reason: "HostScriptFailed",
      detail: "another run holds the lock",
    });
    expect(commandFailure(result({ output: "" }))).toMatchObject({
      reason: "HostScriptFailed",
      detail: "the host script printed nothing",
    });
  });

  test("a failed run takes Cloud Assistant's code and the report's message", () => {
    const failed = report({
      ok: false,
      error: { code: "WriteFailed", message: "cannot create the UID file" },
    });

    expect(
      commandFailure(result({ status: "Failed", exitCode: 4, errorCode: "ExitCodeNonzero", output: failed })),
    ).toEqual({
      status: { stage: "failed", reason: "HostScriptFailed" },
      reason: "ExitCodeNonzero",
      detail: "cannot create the UID file",
    });
  });
});
