/**
 * The status report's migrations: per route and source account it hands over from, the hosts cut
 * over (collecting of those tagged), where the source config stands, and the history copy.
 */
import { join } from "node:path";
import { renderStatusText } from "../../cli/report/textReport";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { Observed, ObservedInstance, ObservedSource } from "../../shared/planner/types";
import { buildFleetReport } from "../../shared/status/fleetReport";
import { observedInstance } from "../support/observedMachines";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const APP_B = "1700000000000397";
const NOW = 1_800_000_000_000;

const instance = (id: string, status: string): ObservedInstance =>
  observedInstance(id, { tags: { [config.tagKey]: "app-b-prod", [config.statusTagKey]: status } });

const observed = (source: ObservedSource): Observed => ({
  now: NOW,
  instances: [
    instance("i-bp1migrated001", "collecting"),
    instance("i-bp1migrated002", "collecting"),
    instance("i-bp1onitsway001", "authorized"),
    instance("i-bp1failedhost1", "failed:NoHeartbeat"),
  ],
  routes: {
    "app-b-prod": {
      logstoreExists: true,
      indexExists: true,
      groups: {},
      configExists: {},
      sources: { [APP_B]: source },
    },
  },
});

describe("each route's migration in the status report", () => {
  test("before the cutover: 2 of 4 hosts cut over, the source config bound, no copy yet", () => {
    const report = buildFleetReport(config, observed({ retireBindingPresent: true }));

    expect(report.copyJobs).toEqual([
      {
        route: "app-b-prod",
        sourceAccount: APP_B,
        name: "",
        status: "missing",
        hosts: 4,
        collecting: 2,
        sourceConfig: "bound",
      },
    ]);
    expect(renderStatusText(report)).toMatch(/app-b-prod +1700000000000397 +2\/4 +bound +- +missing/);
  });

  test("after it: the source config retired and the copy running", () => {
    const report = buildFleetReport(
      config,
      observed({ retireBindingPresent: false, backfillJob: { name: "ltx-backfill-x", status: "RUNNING" } }),
    );

    expect(report.copyJobs[0]).toMatchObject({
      sourceConfig: "retired",
      name: "ltx-backfill-x",
      status: "RUNNING",
    });
  });

  test("not observed: the source config's state is unknown, not guessed", () => {
    expect(buildFleetReport(config, observed({})).copyJobs[0]?.sourceConfig).toBe("unknown");
  });
});
