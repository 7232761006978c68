import type { Command } from "commander";
import {
  formatIssue,
  loadRoutesConfig,
  RoutesConfigError,
  summarizeRoutesConfig,
} from "../../shared/config/routesConfig";
import { EXIT_INVALID_INPUT, EXIT_OK } from "../exitCodes";
import type { CliIo } from "../io";

export function registerValidateConfigCommand(program: Command, io: CliIo): void {
  program
    .command("validate-config")
    .description(
      "Check a routes file: exit 0 with a one-line summary, or exit 1 with every problem and its line.",
    )
    .argument("<file>", "the routes file (YAML)")
    .action((file: string) => {
      io.setExitCode(validateConfig(file, io));
    });
}

export function validateConfig(file: string, io: CliIo): number {
  try {
    io.out(`${file}: OK: ${summarizeRoutesConfig(loadRoutesConfig(file))}\n`);
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof RoutesConfigError)) throw error;
    const count = error.issues.length;
    io.err(`${file}: ${count} problem${count === 1 ? "" : "s"}\n`);
    for (const issue of error.issues) io.err(`  ${formatIssue(issue)}\n`);
    return EXIT_INVALID_INPUT;
  }
}
