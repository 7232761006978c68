import type { Command } from "commander";
import {
  formatIssue,
  loadRoutesConfig,
  RoutesConfigError,
  summarizeRoutesConfig,
} from "../../shared/config/routesConfig";
import { readHostScripts } from "../../shared/hostscript/hostScripts";
import { oversizedRevokes } from "../../shared/hostscript/routeActions";
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
    const config = loadRoutesConfig(file);
    // The largest host command each route needs must fit Cloud Assistant, or its hosts could be
    // onboarded and never offboarded.
    const oversized = oversizedRevokes(config, readHostScripts());
    if (oversized.length > 0) {
      io.err(`${file}: ${oversized.length} problem${oversized.length === 1 ? "" : "s"}\n`);
      for (const found of oversized) {
        io.err(
          `  routes.${found.route}.identifier.${found.os}: its revoke, which names the identifiers of every route to the same destination account, ${found.message.replace(/^script: /, "")}: use fewer or shorter identifiers per destination account\n`,
        );
      }
      return EXIT_INVALID_INPUT;
    }
    io.out(`${file}: OK: ${summarizeRoutesConfig(config)}\n`);
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof RoutesConfigError)) throw error;
    const count = error.issues.length;
    io.err(`${file}: ${count} problem${count === 1 ? "" : "s"}\n`);
    for (const issue of error.issues) io.err(`  ${formatIssue(issue)}\n`);
    return EXIT_INVALID_INPUT;
  }
}
