import { join } from "node:path";
import type { Command } from "commander";
import { detectSandbox } from "../../localstack/hostSandbox";
import { loadRoutesConfig, RoutesConfigError, summarizeRoutesConfig } from "../../shared/config/routesConfig";
import { EXIT_INVALID_INPUT, EXIT_UNAVAILABLE } from "../exitCodes";
import type { CliIo } from "../io";

const DEFAULT_ROUTES = join(__dirname, "../../config/routes.example.yaml");

/**
 * `npm start`: the whole pipeline on the local stack. Until the pipeline functions exist it checks
 * what it can (routes file, sandbox for simulated hosts), says plainly what is missing, and exits 3.
 */
export function registerStartCommand(program: Command, io: CliIo): void {
  program
    .command("start")
    .description("Run the whole pipeline offline on the local stack with the demo fleet.")
    .option("--config <file>", "routes file", DEFAULT_ROUTES)
    .action((options: { config: string }) => {
      io.setExitCode(start(options.config, io));
    });
}

function start(configFile: string, io: CliIo): number {
  try {
    io.out(`routes   ${configFile}: ${summarizeRoutesConfig(loadRoutesConfig(configFile))}\n`);
  } catch (error) {
    if (!(error instanceof RoutesConfigError)) throw error;
    io.err(`${error.message}\n`);
    return EXIT_INVALID_INPUT;
  }
  const sandbox = detectSandbox();
  io.out(
    sandbox.available
      ? `hosts    simulated hosts run the host script in a sandbox (${sandbox.kind})\n`
      : `hosts    no sandbox for simulated hosts: ${sandbox.reason}\n`,
  );
  io.err(
    "logtail-xacct start: the local pipeline is not complete yet: the cloud emulator, the simulated fleet and the " +
      "authorize/heartbeat/apply/reconcile functions are still being built (see README, Status).\n",
  );
  return EXIT_UNAVAILABLE;
}
