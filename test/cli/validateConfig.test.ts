import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";

const ROOT = join(__dirname, "../..");
const EXAMPLE = join(ROOT, "config/routes.example.yaml");

function badCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "ltx-cli-"));
  const file = join(dir, "routes.yaml");
  writeFileSync(
    file,
    readFileSync(EXAMPLE, "utf8")
      .replace(
        "linux: app-b-prod-linux\n      windows: app-b-prod-windows\n    identifier",
        "linux: App_B\n      windows: app-b-prod-windows\n    identifier",
      )
      .replace('- account: "1800000000000512"', "- account: 1800000000000512"),
  );
  return file;
}

describe("logtail-xacct validate-config", () => {
  test("a valid file: exit 0 and a one-line summary on stdout; guessable identifiers warned of on stderr", async () => {
    const io = bufferIo();

    const code = await main(["validate-config", EXAMPLE], io);

    expect(code).toBe(0);
    expect(io.stdout()).toBe(
      `${EXAMPLE}: OK: 2 routes, 1 destination, 2 source accounts (3 account-regions), tag key logtail-xacct-route\n`,
    );
    // The example's identifiers are its route names: readable for the demo, guessable by anyone.
    const warning = io.stderr().split("\n");
    expect(warning[0]).toBe(`${EXAMPLE}: 3 identifiers anyone can guess`);
    expect(warning[1]).toBe(
      "  routes.app-b-prod.identifier.linux: app-b-prod-linux is made of names others can see (app-b-prod-linux): any host that knows the destination's UID can join the machine group, receive the route's config and write into its logstore; add a random part of 8 or more characters (e.g. from `openssl rand -hex 6`). On a route in use, a new identifier onboards its hosts again.",
    );
    expect(warning).toHaveLength(5);
  });

  test("identifiers with a random part: no warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltx-cli-"));
    const file = join(dir, "routes.yaml");
    const routes = parseYaml(readFileSync(EXAMPLE, "utf8")) as {
      routes: Record<string, { identifier: Record<string, string> }>;
    };
    for (const route of Object.values(routes.routes))
      for (const os of Object.keys(route.identifier))
        route.identifier[os] = `${route.identifier[os]}-3f9c2a7e41d0`;
    writeFileSync(file, stringifyYaml(routes));
    const io = bufferIo();

    expect(await main(["validate-config", file], io)).toBe(0);
    expect(io.stderr()).toBe("");
  });

  test("Windows hosts handed over by the protocol (handover.windows: protocol): valid, with a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltx-cli-"));
    const file = join(dir, "routes.yaml");
    const routes = parseYaml(readFileSync(EXAMPLE, "utf8")) as {
      routes: Record<string, { handover?: Record<string, unknown> }>;
    };
    const route = routes.routes["app-b-prod"];
    if (route === undefined) throw new Error("the example has no app-b-prod");
    route.handover = { windows: "protocol" };
    writeFileSync(file, stringifyYaml(routes));
    const io = bufferIo();

    expect(await main(["validate-config", file], io)).toBe(0);
    expect(io.stderr()).toContain(
      `${file}: routes.app-b-prod.handover.windows: protocol hands Windows hosts over by rules checked on Linux only`,
    );
    // The default keeps them on their own collection: no such warning.
    const quiet = bufferIo();
    await main(["validate-config", EXAMPLE], quiet);
    expect(quiet.stderr()).not.toContain("handover.windows");
  });

  test("an invalid file: exit 1 and every problem with its path and line on stderr", async () => {
    const file = badCopy();
    const io = bufferIo();

    const code = await main(["validate-config", file], io);

    expect(code).toBe(1);
    expect(io.stdout()).toBe("");
    expect(io.stderr().split("\n")).toEqual([
      `${file}: 2 problems`,
      expect.stringMatching(
        /^ {2}routes\.app-b-prod\.machineGroup\.linux: must be 3-128 of lowercase.* \(line \d+\)$/,
      ),
      expect.stringMatching(
        /^ {2}routes\.payments-prod\.sources\[0\]\.account: must be a string.* \(line \d+\)$/,
      ),
      "",
    ]);
  });

  test("routes whose revoke could never be sent are refused: their hosts could not be offboarded", async () => {
    // 40 routes to one destination account, identifiers of 120 characters: each revoke names the
    // other 39, far beyond Cloud Assistant's 18 KB of command content.
    const example = parseYaml(readFileSync(EXAMPLE, "utf8")) as {
      routes: Record<string, Record<string, unknown>>;
    };
    const template = example.routes["payments-prod"] ?? {};
    const routes: Record<string, unknown> = {};
    for (let i = 0; i < 40; i += 1) {
      const name = `many-${String(i).padStart(2, "0")}`;
      const id = `${name}-${"x".repeat(112)}`;
      routes[name] = {
        ...template,
        logstore: name,
        machineGroup: { linux: name },
        identifier: { linux: id },
        logtailConfig: { linux: { name, filePaths: [`/var/log/${name}/*.log`] } },
      };
    }
    const file = join(mkdtempSync(join(tmpdir(), "ltx-cli-")), "routes.yaml");
    writeFileSync(file, stringifyYaml({ ...example, routes }));
    const io = bufferIo();

    const code = await main(["validate-config", file], io);

    expect(code).toBe(1);
    expect(io.stdout()).toBe("");
    const lines = io.stderr().split("\n");
    expect(lines[0]).toBe(`${file}: 40 problems`);
    expect(lines[1]).toMatch(
      /^ {2}routes\.many-00\.identifier\.linux: its revoke, which names the identifiers of every route to the same destination account, renders to \d+ bytes of Base64, over Cloud Assistant's 18432: use fewer or shorter identifiers per destination account$/,
    );
  });

  test("a missing file: exit 1 naming the file and the reason", async () => {
    const io = bufferIo();

    const code = await main(["validate-config", "/nonexistent/routes.yaml"], io);

    expect(code).toBe(1);
    expect(io.stderr()).toContain("/nonexistent/routes.yaml: 1 problem");
    expect(io.stderr()).toContain("cannot read the file (ENOENT)");
  });

  test("no file argument: exit 2 with usage", async () => {
    const io = bufferIo();

    const code = await main(["validate-config"], io);

    expect(code).toBe(2);
    expect(io.stderr()).toContain("missing required argument 'file'");
  });

  test("the installed command works from a fresh shell (npx logtail-xacct)", () => {
    const result = spawnSync(
      process.execPath,
      [join(ROOT, "bin/logtail-xacct.js"), "validate-config", badCopy()],
      {
        encoding: "utf8",
      },
    );

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/2 problems/);
  });
});
