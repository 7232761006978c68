/**
 * `npx logtail-xacct <command>`. Exit codes: 0 success; 1 the input is invalid (a routes file with
 * errors, an unknown route, account or instance) or some instances could not be revoked; 2 the
 * command line is wrong; 3 unavailable (no credentials, the cloud or the local stack cannot be
 * reached, or the local stack cannot run here); 4 `verify` found lines missing or doubled; 70 an
 * internal error.
 */
import { Command, CommanderError } from "commander";
import { registerEmulatorCommand } from "./commands/emulator";
import { registerInvokeCommand } from "./commands/invoke";
import { registerOperatorCommands } from "./commands/operate";
import { registerPoliciesCommand } from "./commands/policies";
import { registerStartCommand } from "./commands/start";
import { registerValidateConfigCommand } from "./commands/validateConfig";
import { registerVerifyCommand } from "./commands/verify";
import { EXIT_USAGE } from "./exitCodes";
import type { CliIo } from "./io";
import { processIo } from "./io";

export function buildProgram(io: CliIo): Command {
  const program = new Command("logtail-xacct")
    .description(
      "Centralize Logtail collection of ECS servers from many Alibaba Cloud accounts into one SLS project.",
    )
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.out(text), writeErr: (text) => io.err(text) })
    .showHelpAfterError();
  registerValidateConfigCommand(program, io);
  registerStartCommand(program, io);
  registerEmulatorCommand(program, io);
  registerInvokeCommand(program, io);
  registerOperatorCommands(program, io);
  registerPoliciesCommand(program, io);
  registerVerifyCommand(program, io);
  return program;
}

/** Runs the CLI; resolves with the exit code instead of exiting, so tests can call it. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return io.exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw error;
  }
}
