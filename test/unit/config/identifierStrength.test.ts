/** Identifiers made of the names others can see are found; a random part of 8 or more clears one. */
import { join } from "node:path";
import { guessableIdentifiers } from "../../../shared/config/identifierStrength";
import { loadRoutesConfig } from "../../../shared/config/routesConfig";
import type { RoutesFile } from "../../../shared/config/routesSchema";

const example = loadRoutesConfig(join(__dirname, "../../../config/routes.example.yaml"));

/** The example with app-b-prod's Linux identifier replaced. */
function withLinuxIdentifier(identifier: string): RoutesFile {
  const route = example.routes["app-b-prod"];
  if (route === undefined) throw new Error("the example has app-b-prod");
  return {
    ...example,
    routes: { "app-b-prod": { ...route, identifier: { ...route.identifier, linux: identifier } } },
  };
}
const linuxOfAppB = (config: RoutesFile) =>
  guessableIdentifiers(config).filter((found) => found.route === "app-b-prod" && found.os === "linux");

describe("identifiers anyone can guess", () => {
  test("the example's identifiers are its route names and OS: every one is found, with what it is made of", () => {
    const found = guessableIdentifiers(example);

    expect(found.map((f) => `${f.route}.${f.os}`).sort()).toEqual([
      "app-b-prod.linux",
      "app-b-prod.windows",
      // payments-prod has no Windows identifier.
      "payments-prod.linux",
    ]);
    expect(found.find((f) => f.route === "app-b-prod" && f.os === "linux")?.madeOf).toEqual([
      "app-b-prod-linux",
    ]);
  });

  test.each([
    ["app-b-prod-linux-3f9c2a7e41d0", false],
    ["k7q2m9x4h3t8", false],
    ["app-b-prod-linux-v2", true],
    ["APP-B-PROD_linux", true],
    ["app-b-prod-linux-1234567", true],
  ])("%s: guessable %s", (identifier, guessable) => {
    expect(linuxOfAppB(withLinuxIdentifier(identifier)).length > 0).toBe(guessable);
  });
});
