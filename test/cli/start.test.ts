import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";
import { describeRequiring, sandboxRequirement } from "../support/requires";

describeRequiring(sandboxRequirement(), "logtail-xacct start", () => {
  test("the first 30 demo instances are tagged, onboarded by the real functions, and converge to collecting", async () => {
    const io = bufferIo();

    const code = await main(["start", "--instances", "30", "--exit-when-converged", "--json"], io);

    expect(code).toBe(0);
    const lines = io.stdout().trim().split("\n");
    const summary = JSON.parse(lines.at(-1) ?? "{}");
    expect(summary).toMatchObject({
      converged: true,
      instances: 30,
      byStage: { collecting: 30 },
      unexpected: [],
    });
    expect(lines[0]).toMatch(/^route\s+status\s+instances/);
    expect(io.stderr()).toMatch(/tags {5}30 instances tagged/);
    expect(io.stderr()).toMatch(/progress/);
  });
});

describe("logtail-xacct start with bad input", () => {
  test("an invalid routes file: exit 1 with its problems, nothing started", async () => {
    const io = bufferIo();

    const code = await main(["start", "--config", "/nonexistent/routes.yaml"], io);

    expect(code).toBe(1);
    expect(io.stderr()).toContain("cannot read the file (ENOENT)");
    expect(io.stdout()).toBe("");
  });

  test("a bad --instances: exit 2", async () => {
    const io = bufferIo();

    expect(await main(["start", "--instances", "zero"], io)).toBe(2);
  });
});
