import { bufferIo } from "../../cli/io";
import { main } from "../../cli/main";
import { describeRequiring, sandboxRequirement } from "../support/requires";

describeRequiring(sandboxRequirement(), "logtail-xacct start", () => {
  test("starts the local stack with the demo fleet, reports it, and says plainly that nothing is onboarded yet", async () => {
    const io = bufferIo();

    const code = await main(["start"], io);

    expect(code).toBe(3);
    expect(io.stdout()).toMatch(/routes {3}.*2 routes/);
    expect(io.stdout()).toMatch(
      /hosts {4}304 simulated hosts \(1700000000000397: 240, 1800000000000512: 64\)/,
    );
    expect(io.stderr()).toContain("the pipeline is not complete");
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
});
