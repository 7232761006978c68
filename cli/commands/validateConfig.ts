import type { Command } from "commander";
import { guessableIdentifiers, MIN_SECRET_CHARACTERS } from "../../shared/config/identifierStrength";
import {
  formatIssue,
  loadRoutesConfig,
  RoutesConfigError,
  summarizeRoutesConfig,
} from "../../shared/config/routesConfig";
import { unverifiedWindowsHandovers } from "../../shared/domain/routeResolution";
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
    // A warning, not a refusal: an identifier in use cannot change without onboarding its hosts
    // again, and the operator may accept the risk for a route.
    const guessable = guessableIdentifiers(config);
    if (guessable.length > 0)
      io.err(
        `${file}: ${guessable.length} identifier${guessable.length === 1 ? "" : "s"} anyone can guess\n${guessable
          .map(
            (found) =>
              `  routes.${found.route}.identifier.${found.os}: ${found.identifier} is made of names others can see (${found.madeOf.join(", ")}): any host that knows the destination's UID can join the machine group, receive the route's config and write into its logstore; add a random part of ${MIN_SECRET_CHARACTERS} or more characters (e.g. from \`openssl rand -hex 6\`). On a route in use, a new identifier onboards its hosts again.\n`,
          )
          .join("")}`,
      );
    for (const route of unverifiedWindowsHandovers(config))
      io.err(
        `${file}: routes.${route}.handover.windows: protocol hands Windows hosts over by rules checked on Linux only: their lines may be lost or doubled at the cutover (run verify on the route after it)\n`,
      );
    return EXIT_OK;
  } catch (error) {
    if (!(error instanceof RoutesConfigError)) throw error;
    const count = error.issues.length;
    io.err(`${file}: ${count} problem${count === 1 ? "" : "s"}\n`);
    for (const issue of error.issues) io.err(`  ${formatIssue(issue)}\n`);
    return EXIT_INVALID_INPUT;
  }
}
