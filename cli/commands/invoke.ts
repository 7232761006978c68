import type { Command } from "commander";
import { DEFAULT_ENDPOINTS_FILE, DEFAULT_TEMPLATE, runInvokeCommand } from "../../localstack/fc";
import type { CliIo } from "../io";

export function registerInvokeCommand(program: Command, io: CliIo): void {
  program
    .command("invoke")
    .description(
      "Invoke one function of s.yaml once, locally, against a running emulator (replay a captured event).",
    )
    .argument("<function>", "functionName or resource key in s.yaml")
    .requiredOption("--event <file>", "event file (its bytes are the event, as FC passes it)")
    .option("--endpoints-file <file>", "endpoints file of the running local stack", DEFAULT_ENDPOINTS_FILE)
    .option("--template <file>", "the Serverless Devs template", DEFAULT_TEMPLATE)
    .action(async (fn: string, options: { event: string; endpointsFile: string; template: string }) => {
      io.setExitCode(
        await runInvokeCommand(
          {
            functionName: fn,
            eventFile: options.event,
            endpointsFile: options.endpointsFile,
            template: options.template,
          },
          { out: io.out, err: io.err, env: process.env, cwd: process.cwd() },
        ),
      );
    });
}
