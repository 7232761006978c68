import {
  type CommandExecution,
  type CommandExecutor,
  DELIVERY_TIMEOUT_MS,
  type ExecutionOutcome,
} from "../../emulator/ecs/index";
import type { EmulatorHandle } from "../../emulator/index";
import { $Ecs, ecsClient, failure, region, spokeA, startTestEmulator } from "./emulatorKit";

let emulator: EmulatorHandle;

beforeAll(async () => {
  emulator = await startTestEmulator();
});

afterAll(async () => {
  await emulator.stop();
});

beforeEach(async () => {
  await emulator.reset();
  emulator.setCommandExecutor(undefined);
});

const client = () => ecsClient(emulator, spokeA);
const linuxHost = "i-spokea0000000000001";

/** An executor whose outcomes the test decides; it records what it was asked to run. */
function scriptedExecutor(outcome: (execution: CommandExecution) => ExecutionOutcome | undefined): {
  executor: CommandExecutor;
  executions: CommandExecution[];
} {
  const executions: CommandExecution[] = [];
  return {
    executions,
    executor: {
      execute: (execution, progress) => {
        executions.push(execution);
        progress.started();
        const result = outcome(execution);
        // undefined: the process never finishes (the agent's timeout must end it)
        return result === undefined
          ? new Promise<ExecutionOutcome>(() => undefined)
          : Promise.resolve(result);
      },
    },
  };
}

function run(fields: Partial<$Ecs.RunCommandRequest> = {}) {
  return client().runCommand(
    new $Ecs.RunCommandRequest({
      regionId: region,
      type: "RunShellScript",
      commandContent: "echo hello",
      instanceId: [linuxHost],
      ...fields,
    }),
  );
}

async function results(
  invokeId: string | undefined,
  fields: Partial<$Ecs.DescribeInvocationResultsRequest> = {},
) {
  const response = await client().describeInvocationResults(
    new $Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId, ...fields }),
  );
  return response.body?.invocation;
}

/** Lets the executor's resolved promises settle (no timers involved). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("RunCommand with the default executor (no simulated host)", () => {
  test("records the invocation and reports it honestly as not run, never as a success", async () => {
    const started = await run();
    await settle();

    const invocation = await results(started.body?.invokeId);

    expect(started.body?.commandId).toMatch(/^c-/);
    expect(invocation?.invocationResults?.invocationResult?.[0]).toMatchObject({
      instanceId: linuxHost,
      invokeId: started.body?.invokeId,
      invocationStatus: "Failed",
      errorCode: "ClientNotResponse",
    });
  });
});

describe("RunCommand through a pluggable executor", () => {
  test("hands the decoded script with its parameters filled in, and reports Success with Base64 output", async () => {
    const { executor, executions } = scriptedExecutor(() => ({
      kind: "exited",
      exitCode: 0,
      output: "done\n",
    }));
    emulator.setCommandExecutor(executor);
    const script = "echo {{route}} {{ACS::InstanceId}}";

    const started = await run({
      commandContent: Buffer.from(script).toString("base64"),
      contentEncoding: "Base64",
      enableParameter: true,
      parameters: { route: "web" },
      timeout: 120,
    });
    await settle();
    const result = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];
    const plain = (await results(started.body?.invokeId, { contentEncoding: "PlainText" }))?.invocationResults
      ?.invocationResult?.[0];

    expect(executions[0]).toMatchObject({
      script: `echo web ${linuxHost}`,
      type: "RunShellScript",
      timeoutSeconds: 120,
      target: { instanceId: linuxHost, accountId: spokeA.id, osType: "linux" },
    });
    expect(result).toMatchObject({
      invocationStatus: "Success",
      invokeRecordStatus: "Finished",
      exitCode: 0,
      errorCode: "",
      output: Buffer.from("done\n").toString("base64"),
    });
    expect(plain?.output).toBe("done\n");
  });

  test("a non-zero exit is Failed with ExitCodeNonzero and the exit code", async () => {
    emulator.setCommandExecutor(
      scriptedExecutor(() => ({ kind: "exited", exitCode: 3, output: "boom" })).executor,
    );

    const started = await run();
    await settle();

    expect((await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0]).toMatchObject({
      invocationStatus: "Failed",
      errorCode: "ExitCodeNonzero",
      exitCode: 3,
    });
  });

  test("a process that outlives Timeout ends as Timeout / ExecutionTimeout on the emulator clock", async () => {
    emulator.setCommandExecutor(scriptedExecutor(() => undefined).executor);
    const started = await run({ timeout: 30 });
    await settle();
    const running = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];

    emulator.advanceClock(30_000);
    const timedOut = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];

    expect(running?.invocationStatus).toBe("Running");
    expect(timedOut).toMatchObject({ invocationStatus: "Timeout", errorCode: "ExecutionTimeout" });
  });

  test("a command the host has taken is not timed out for delivery while the simulation waits for a slot", async () => {
    let begin = (): void => undefined;
    emulator.setCommandExecutor({
      execute: (_execution, progress) => {
        progress.delivered();
        return new Promise<ExecutionOutcome>((resolve) => {
          begin = () => {
            progress.started();
            resolve({ kind: "exited", exitCode: 0, output: "done" });
          };
        });
      },
    });
    const started = await run();
    await settle();

    // Past Cloud Assistant's delivery timeout, still waiting for a local slot.
    emulator.advanceClock(DELIVERY_TIMEOUT_MS + 60_000);
    const waiting = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];
    begin();
    await settle();
    const ended = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];

    expect(waiting?.invocationStatus).toBe("Pending");
    expect(ended).toMatchObject({ invocationStatus: "Success", errorCode: "" });
  });

  test("a command no host takes still ends as DeliveryTimeout", async () => {
    emulator.setCommandExecutor({ execute: () => new Promise<ExecutionOutcome>(() => undefined) });
    const started = await run();
    await settle();

    emulator.advanceClock(DELIVERY_TIMEOUT_MS);
    const result = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];

    expect(result).toMatchObject({ invocationStatus: "Failed", errorCode: "DeliveryTimeout" });
  });

  test("an executor that enforces Timeout on the process's own run is not cut by the emulator's clock", async () => {
    let finish = (): void => undefined;
    emulator.setCommandExecutor({
      enforcesTimeout: true,
      execute: (_execution, progress) => {
        progress.started();
        return new Promise<ExecutionOutcome>((resolve) => {
          finish = () => resolve({ kind: "exited", exitCode: 0, output: "slow on a loaded machine" });
        });
      },
    });
    const started = await run({ timeout: 30 });
    await settle();

    emulator.advanceClock(120_000);
    const running = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];
    finish();
    await settle();
    const ended = (await results(started.body?.invokeId))?.invocationResults?.invocationResult?.[0];

    expect(running?.invocationStatus).toBe("Running");
    expect(ended?.invocationStatus).toBe("Success");
  });

  test("a stopped instance and an offline agent fail per instance without reaching the executor", async () => {
    const { executor, executions } = scriptedExecutor(() => ({ kind: "exited", exitCode: 0, output: "" }));
    emulator.setCommandExecutor(executor);

    const started = await run({ instanceId: [linuxHost, "i-spokea0000000000002", "i-spokea0000000000003"] });
    await settle();
    const rows = (await results(started.body?.invokeId))?.invocationResults?.invocationResult ?? [];
    const invocations = await client().describeInvocations(
      new $Ecs.DescribeInvocationsRequest({ regionId: region, invokeId: started.body?.invokeId }),
    );

    expect(executions.map((execution) => execution.target.instanceId)).toEqual([linuxHost]);
    expect(rows.map((row) => [row.instanceId, row.invocationStatus, row.errorCode])).toEqual([
      [linuxHost, "Success", ""],
      ["i-spokea0000000000002", "Failed", "InstanceNotRunning"],
      ["i-spokea0000000000003", "Failed", "ClientNotRunning"],
    ]);
    expect(invocations.body?.invocations?.invocation?.[0]).toMatchObject({
      invokeId: started.body?.invokeId,
      invocationStatus: "PartialFailed",
      commandType: "RunShellScript",
      commandContent: Buffer.from("echo hello").toString("base64"),
    });
  });
});

describe("RunCommand idempotency and validation", () => {
  test("the same ClientToken returns the same invocation and runs once", async () => {
    const { executor, executions } = scriptedExecutor(() => ({ kind: "exited", exitCode: 0, output: "" }));
    emulator.setCommandExecutor(executor);

    const first = await run({ clientToken: "token-1" });
    const second = await run({ clientToken: "token-1" });

    expect(second.body?.invokeId).toBe(first.body?.invokeId);
    expect(second.body?.commandId).toBe(first.body?.commandId);
    expect(executions).toHaveLength(1);
  });

  test("the same ClientToken with other parameters is IdempotentParameterMismatch", async () => {
    await run({ clientToken: "token-2" });

    const error = await failure(run({ clientToken: "token-2", commandContent: "echo other" }));

    expect(error).toMatchObject({ code: "IdempotentParameterMismatch", statusCode: 400 });
  });

  test("accepts 100 instances in one call and refuses 101", async () => {
    await emulator.loadFleet({ instances: [{ account: "spoke-a", region, count: 80 }] });
    const linux = emulator.ecs
      .listInstances({ accountId: spokeA.id, regionId: region })
      .filter((instance) => instance.osType === "linux")
      .map((instance) => instance.instanceId);

    const hundred = await run({ instanceId: linux.slice(0, 100) });
    const error = await failure(run({ instanceId: linux.slice(0, 101) }));

    expect(hundred.body?.invokeId).toMatch(/^t-/);
    expect(error).toMatchObject({ code: "InvalidParameter.InstanceIds", statusCode: 400 });
  });

  test.each([
    ["an unknown Type", "InvalidCmdType.NotFound", { type: "RunPythonScript" }],
    ["a shell script on Windows", "InvalidCmdType.NotMatchOSType", { instanceId: ["i-spokeawin0000000004"] }],
    [
      "content that is not Base64",
      "InvalidParameter.CommandContent",
      { commandContent: "not base64!", contentEncoding: "Base64" },
    ],
    ["content over 24 KB", "InvalidCmdContent.ExceedLimit", { commandContent: "x".repeat(20_000) }],
    ["Timeout 5", "InvalidParameter.Timeout", { timeout: 5 }],
    [
      "a parameter left unset",
      "InvalidParameter.CmdParamMissing",
      { commandContent: "echo {{name}}", enableParameter: true },
    ],
    ["Parameters without EnableParameter", "InvalidParameter.Parameters", { parameters: { a: "b" } }],
    ["a ClientToken over 64 chars", "InvalidClientToken.Malformed", { clientToken: "t".repeat(65) }],
  ])("refuses %s with %s", async (_label, code, fields) => {
    const error = await failure(run(fields));

    expect(error.code).toBe(code);
  });

  test("RunPowerShellScript runs on Windows instances", async () => {
    const { executor, executions } = scriptedExecutor(() => ({ kind: "exited", exitCode: 0, output: "" }));
    emulator.setCommandExecutor(executor);

    await run({
      type: "RunPowerShellScript",
      commandContent: "Write-Output hi",
      instanceId: ["i-spokeawin0000000004"],
    });

    expect(executions[0]).toMatchObject({ type: "RunPowerShellScript", target: { osType: "windows" } });
  });
});

describe("DescribeInvocationResults / DescribeInvocations paging", () => {
  test("pages results of a 21-instance invocation with MaxResults and NextToken", async () => {
    const ids = emulator.ecs
      .listInstances({ accountId: spokeA.id, regionId: region })
      .filter((instance) => instance.tags.get("team") === "bulk")
      .map((instance) => instance.instanceId);
    const started = await run({ instanceId: ids });
    await settle();

    const collected: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await results(started.body?.invokeId, { maxResults: 10, nextToken });
      for (const row of page?.invocationResults?.invocationResult ?? []) collected.push(row.instanceId ?? "");
      expect(page?.totalCount).toBe(21);
      nextToken = page?.nextToken || undefined;
    } while (nextToken !== undefined);

    expect(collected).toEqual(ids);
  });

  test("MaxResults above 50 is refused", async () => {
    const error = await failure(results(undefined, { maxResults: 51 }));

    expect(error.code).toBe("InvalidParameter.MaxResults");
  });

  test("DescribeInvocations lists newest first, filters by instance, and pages", async () => {
    const first = await run();
    const second = await run({ commandContent: "echo two" });
    await run({ instanceId: ["i-spokea0000000000003"] });

    const page = await client().describeInvocations(
      new $Ecs.DescribeInvocationsRequest({ regionId: region, instanceId: linuxHost, maxResults: 1 }),
    );
    const next = await client().describeInvocations(
      new $Ecs.DescribeInvocationsRequest({
        regionId: region,
        instanceId: linuxHost,
        maxResults: 1,
        nextToken: page.body?.nextToken,
      }),
    );

    expect(page.body?.totalCount).toBe(2);
    expect(page.body?.invocations?.invocation?.[0]?.invokeId).toBe(second.body?.invokeId);
    expect(next.body?.invocations?.invocation?.[0]?.invokeId).toBe(first.body?.invokeId);
    expect(next.body?.nextToken).toBe("");
  });
});
