/**
 * Tag values reach `status` and `plan` output, and whoever may tag an instance chooses them: their
 * control characters are shown, escaped, never sent to the terminal.
 */
import { printable, renderStatusText } from "../../cli/report/textReport";
import type { FleetReport } from "../../shared/status/fleetReport";

/** A control character other than the newline that ends each line of output. */
const controlIn = (text: string): boolean =>
  [...text].some((c) => {
    const code = c.charCodeAt(0);
    return (code < 0x20 && c !== "\n") || (code >= 0x7f && code <= 0x9f);
  });

const HOSTILE = "failed:\u001b]0;pwned\u0007\u001b[2J\u009b31m";

const report: FleetReport = {
  generatedAt: "2026-12-07T00:00:00Z",
  hubAccountId: "1200000000000456",
  groups: [
    {
      route: "app-b-prod\u001b[8m",
      accountId: "1700000000000397",
      region: "cn-hangzhou",
      counts: { [HOSTILE]: 1 } as FleetReport["groups"][number]["counts"],
      total: 1,
    },
  ],
  totals: { [HOSTILE]: 1 } as FleetReport["totals"],
  instances: [],
  failed: [
    {
      instanceId: "i-bp1hostile00001",
      accountId: "1700000000000397",
      region: "cn-hangzhou",
      route: "app-b-prod\u001b[8m",
      state: "Running",
      stage: HOSTILE as FleetReport["failed"][number]["stage"],
      reason: HOSTILE.slice("failed:".length),
      remedy: "",
    },
  ],
  copyJobs: [],
};

describe("text output of values someone else chose", () => {
  test("status shows a hostile status tag and route tag escaped, with no control character left", () => {
    const text = renderStatusText(report);

    expect(controlIn(text)).toBe(false);
    expect(text).toContain("app-b-prod\\x1b[8m");
    expect(text).toContain("\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m");
  });

  test("colour, when asked for, is still ours alone", () => {
    const text = renderStatusText(report, true);
    const ours = ["\u001b[31m", "\u001b[32m", "\u001b[0m"];

    expect(ours.some((sequence) => text.includes(sequence))).toBe(true);
    expect(controlIn(ours.reduce((rest, sequence) => rest.replaceAll(sequence, ""), text))).toBe(false);
  });

  test("printable keeps shape, numbers and plain text", () => {
    expect(printable({ a: ["x\ty", 3, null], "k\u0000": true })).toEqual({
      a: ["x\\x09y", 3, null],
      "k\\x00": true,
    });
  });
});
