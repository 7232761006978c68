/**
 * The decision a later look at a host command makes, alone: no stack, just the re-observed
 * instance, its result and the routes file.
 */
import { join } from "node:path";
import { loadRoutesConfig } from "../../shared/config/routesConfig";
import type { CheckCommandMessage } from "../../shared/messages/queueMessages";
import type { InstanceRecord, InvocationResult } from "../../shared/ports/ecs";
import { settle } from "../../shared/usecases/checkCommands";

const config = loadRoutesConfig(join(__dirname, "../../config/routes.example.yaml"));
const SPOKE = "1700000000000397";

function instance(tags: Record<string, string>): InstanceRecord {
  return {
    instanceId: "i-bp1settle000001",
    accountId: SPOKE,
    region: "cn-hangzhou",
    os: "linux",
    status: "Running",
    serialNumber: "",
    privateIps: ["10.0.0.1"],
    tags,
  };
}

function message(action: CheckCommandMessage["action"]): CheckCommandMessage {
  return {
    v: 1,
    type: "check-command",
    accountId: SPOKE,
    region: "cn-hangzhou",
    route: "app-b-prod",
    instanceIds: ["i-bp1settle000001"],
    invokeId: "t-hz0settle0001",
    action,
    sentAt: 0,
    checks: 0,
  };
}

/** A finished run whose host script reported these identifiers left in `user_defined_id`. */
function success(identifiers: string[]): InvocationResult {
  const report = {
    tool: "logtail-xacct",
    scriptVersion: 1,
    action: "revoke",
    ok: true,
    changed: { uidFile: true, identifiers: true },
    uidFiles: [],
    identifiers,
    agent: { flavor: "ilogtail", control: "initd", running: true, restarted: true, restartError: null },
    host: { dmiUuid: null, ip: null, hostname: null, agentVersion: null },
    error: null,
  };
  return {
    instanceId: "i-bp1settle000001",
    status: "Success",
    finished: true,
    exitCode: 0,
    output: `${JSON.stringify(report)}\n`,
    dropped: 0,
  };
}

const running: InvocationResult = {
  instanceId: "i-bp1settle000001",
  status: "Running",
  finished: false,
  output: "",
  dropped: 0,
};
const tagged = { [config.tagKey]: "app-b-prod" };

describe("settle: what a later look at a host command decides", () => {
  it("leaves a still-running command to the next look, and gives up only when told", () => {
    expect(settle(config, message("authorize"), instance(tagged), running, false)).toBe("running");
    expect(settle(config, message("authorize"), instance(tagged), running, true)).toMatchObject({
      status: { stage: "failed", reason: "HostCommandTimeout" },
      authorized: false,
    });
  });

  it("authorizes a pending host, and keeps a retried failure's reason for the heartbeat to judge", () => {
    expect(settle(config, message("authorize"), instance(tagged), success([]), false)).toEqual({
      status: { stage: "authorized" },
      authorized: true,
    });
    const retried = instance({ ...tagged, [config.statusTagKey]: "failed:NoHeartbeat" });
    expect(settle(config, message("authorize"), retried, success([]), false)).toMatchObject({
      status: { stage: "failed", reason: "NoHeartbeat" },
      authorized: true,
    });
  });

  it("changes nothing on a host that moved on: re-tagged, or already authorized by a newer run", () => {
    const retagged = instance({ [config.tagKey]: "payments-prod" });
    expect(settle(config, message("authorize"), retagged, success([]), false)).toBe("moved-on");
    const collecting = instance({ ...tagged, [config.statusTagKey]: "collecting" });
    expect(settle(config, message("authorize"), collecting, success([]), false)).toBe("moved-on");
  });

  it("revokes an untagged host only once no route's identifier is left on it", () => {
    const untagged = instance({ [config.statusTagKey]: "collecting" });
    expect(settle(config, message("revoke"), untagged, success(["team-x-web"]), false)).toMatchObject({
      status: { stage: "revoked" },
    });
    const stillThere = settle(config, message("revoke"), untagged, success(["payments-prod-linux"]), false);
    expect(stillThere).toMatchObject({
      authorized: false,
      detail: expect.stringContaining("payments-prod-linux"),
    });
    expect(stillThere).not.toHaveProperty("status");
  });

  it("leaves a re-tagged host's status to its new route when an old route's revoke ends", () => {
    const retagged = instance({ [config.tagKey]: "payments-prod", [config.statusTagKey]: "authorized" });
    const settlement = settle(config, message("revoke"), retagged, success([]), false);
    expect(settlement).not.toHaveProperty("status");
  });
});
