import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(__dirname, "../..");
const BIN = join(ROOT, "bin/logtail-xacct.js");

describe("logtail-xacct emulator", () => {
  test("serves the demo fleet, writes the endpoints file, and exits 0 on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltx-cli-emulator-"));
    const endpoints = join(dir, "endpoints.json");
    const child = spawn(
      process.execPath,
      [BIN, "emulator", "--fleet", join(ROOT, "config/fleet.demo.yaml"), "--endpoints-file", endpoints],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

    for (let i = 0; i < 200 && !out.includes("endpoints written"); i++)
      await new Promise((r) => setTimeout(r, 50));
    const document = JSON.parse(readFileSync(endpoints, "utf8"));
    child.kill("SIGTERM");

    expect(await exited).toBe(0);
    expect(document.accounts.map((a: { id: string }) => a.id)).toEqual([
      "1200000000000456",
      "1700000000000397",
      "1800000000000512",
    ]);
    expect(out).toMatch(/fleet {4}304 simulated hosts/);
    expect(out).toContain("emulator stopped");
  });

  test("a fleet file with a typo: exit 1 naming the key and where, nothing served", () => {
    const dir = mkdtempSync(join(tmpdir(), "ltx-cli-emulator-"));
    const fleet = join(dir, "fleet.yaml");
    writeFileSync(fleet, "accounts: []\ninstances:\n  - { account: a, region: cn-hangzhou, agnet: none }\n");

    const result = spawnSync(
      process.execPath,
      [BIN, "emulator", "--fleet", fleet, "--endpoints-file", join(dir, "e.json")],
      {
        encoding: "utf8",
        timeout: 30_000,
      },
    );

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/instances\.0: Unrecognized key: "agnet"/);
    expect(existsSync(join(dir, "e.json"))).toBe(false);
  });
});
