import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { startEmulator } from "../../emulator/index";
import {
  FleetFileError,
  readSimulatedFleetFile,
  startSimulatedFleet,
} from "../../localstack/fleet/simulatedFleet";
import { detectSandbox } from "../../localstack/hostSandbox";
import { EXIT_INVALID_INPUT, EXIT_OK, EXIT_USAGE } from "../exitCodes";
import type { CliIo } from "../io";

interface EmulatorOptions {
  port?: string;
  fleet?: string;
  endpointsFile?: string;
}

export function registerEmulatorCommand(program: Command, io: CliIo): void {
  program
    .command("emulator")
    .description(
      "Serve the local cloud (ECS, Cloud Assistant, STS, SLS, MNS) on 127.0.0.1 until SIGINT/SIGTERM; with --fleet, " +
        "its instances are simulated hosts whose agents heartbeat into SLS.",
    )
    .option("--port <n>", "TCP port (default: any free port)")
    .option("--fleet <file>", "fleet file (YAML or JSON; localstack/README.md) to load at start")
    .option(
      "--endpoints-file <file>",
      "write every account's keys and endpoints here once the emulator accepts requests",
    )
    .action(async (options: EmulatorOptions) => {
      io.setExitCode(await serve(options, io));
    });
}

async function serve(options: EmulatorOptions, io: CliIo): Promise<number> {
  let port: number | undefined;
  if (options.port !== undefined) {
    port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      io.err(`--port: must be a whole number from 0 to 65535 (got ${JSON.stringify(options.port)})\n`);
      return EXIT_USAGE;
    }
  }
  let fleet: ReturnType<typeof readSimulatedFleetFile> | undefined;
  if (options.fleet !== undefined) {
    try {
      fleet = readSimulatedFleetFile(options.fleet);
    } catch (error) {
      if (!(error instanceof FleetFileError)) throw error;
      io.err(`${error.message}\n`);
      return EXIT_INVALID_INPUT;
    }
  }
  const emulator = await startEmulator({
    ...(port === undefined ? {} : { port }),
    ...(options.endpointsFile === undefined ? {} : { endpointsFile: options.endpointsFile }),
  });
  const workDir = mkdtempSync(join(tmpdir(), "logtail-xacct-hosts-"));
  try {
    io.out(`emulator listening on 127.0.0.1:${emulator.port} (admin: ${emulator.endpoints.admin})\n`);
    let stopFleet = (): void => undefined;
    if (fleet) {
      const simulated = await startSimulatedFleet(emulator, fleet, { workDir });
      stopFleet = () => simulated.stop();
      const sandbox = detectSandbox();
      io.out(
        `fleet    ${simulated.hosts.size} simulated hosts; ${
          sandbox.available
            ? `commands run in a sandbox (${sandbox.kind})`
            : `commands cannot run: ${sandbox.reason}`
        }\n`,
      );
    }
    for (const account of emulator.endpoints.accounts) {
      io.out(`  account ${account.id} (${account.name}) key ${account.accessKeyId}\n`);
    }
    if (options.endpointsFile !== undefined) io.out(`endpoints written to ${options.endpointsFile}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        resolve();
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
    stopFleet();
    io.out("emulator stopped\n");
    return EXIT_OK;
  } finally {
    await emulator.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}
