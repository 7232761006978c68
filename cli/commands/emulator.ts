import type { Command } from "commander";
import { runEmulatorCommand } from "../../emulator/index";
import { EXIT_USAGE } from "../exitCodes";
import type { CliIo } from "../io";

export function registerEmulatorCommand(program: Command, io: CliIo): void {
  program
    .command("emulator")
    .description(
      "Serve the local cloud (ECS, Cloud Assistant, STS, SLS, MNS) on 127.0.0.1 until SIGINT/SIGTERM.",
    )
    .option("--port <n>", "TCP port (default: any free port)")
    .option("--fleet <file>", "fleet file (YAML or JSON) to load at start")
    .option(
      "--endpoints-file <file>",
      "write every account's keys and endpoints here once the emulator accepts requests",
    )
    .action(async (options: { port?: string; fleet?: string; endpointsFile?: string }) => {
      let port: number | undefined;
      if (options.port !== undefined) {
        port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          io.err(`--port: must be a whole number from 0 to 65535 (got ${JSON.stringify(options.port)})\n`);
          io.setExitCode(EXIT_USAGE);
          return;
        }
      }
      const code = await runEmulatorCommand({
        ...(port === undefined ? {} : { port }),
        ...(options.fleet === undefined ? {} : { fleetFile: options.fleet }),
        ...(options.endpointsFile === undefined ? {} : { endpointsFile: options.endpointsFile }),
        log: (line) => io.out(`${line}\n`),
      });
      io.setExitCode(code);
    });
}
