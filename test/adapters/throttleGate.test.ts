import { CloudError, cloudCall, parseApiBudgets, shareOfBudgets, ThrottleGate } from "../../shared/adapters";
import type { BudgetSlot } from "../../shared/adapters/throttleGate";

/** A clock that only moves when the gate sleeps: waits become numbers to assert on. */
function fakeTime() {
  const clock = { now: 0, slept: [] as number[] };
  return {
    clock,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.now += ms;
    },
  };
}

const call = {
  service: "ecs" as const,
  operation: "RunCommand",
  accountId: "1700000000000397",
  region: "cn-hangzhou",
};

function throttled(): CloudError {
  return new CloudError("Request was denied due to user flow control.", {
    code: "Throttling.User",
    service: "ecs",
    operation: "RunCommand",
    httpStatus: 400,
    retryable: true,
  });
}

describe("ThrottleGate", () => {
  it("pauses a throttled API until the next minute (plus jitter) and calls it again until it is served", async () => {
    const time = fakeTime();
    time.clock.now = 10_000;
    const gate = new ThrottleGate({ ...time, random: () => 0.5, jitterMs: 2000 });
    let answers = 0;
    const result = await gate.run(call, async () => {
      answers += 1;
      if (answers <= 3) throw throttled();
      return "served";
    });
    expect(result).toBe("served");
    // 10 s → 61 s, then 121 s, then 181 s: one refusal per quota window, not one per second.
    expect(time.clock.slept).toEqual([51_000, 60_000, 60_000]);
    expect(gate.throttled).toBe(3);
  });

  it("makes the other callers of the same API wait out the pause instead of each being throttled", async () => {
    const time = fakeTime();
    time.clock.now = 55_000;
    const gate = new ThrottleGate({ ...time, random: () => 0 });
    let first = true;
    await gate.run(call, async () => {
      if (first) {
        first = false;
        throw throttled();
      }
      return 1;
    });
    const startedAt: number[] = [];
    await gate.run(call, async () => startedAt.push(time.clock.now));
    // Another API of the same account is not paused.
    await gate.run({ ...call, operation: "DescribeInstances" }, async () => startedAt.push(time.clock.now));
    expect(startedAt).toEqual([60_000, 60_000]);
  });

  it("gives up after the configured number of throttled answers with the (retryable) error", async () => {
    const time = fakeTime();
    const gate = new ThrottleGate({ ...time, random: () => 0, maxThrottled: 2 });
    await expect(
      gate.run(call, async () => {
        throw throttled();
      }),
    ).rejects.toMatchObject({ code: "Throttling.User", retryable: true });
    expect(gate.throttled).toBe(3);
  });

  it("passes other errors through at once", async () => {
    const time = fakeTime();
    const gate = new ThrottleGate({ ...time });
    await expect(
      gate.run(call, async () => {
        throw new CloudError("no", {
          code: "InvalidInstanceId.NotFound",
          service: "ecs",
          operation: "x",
          retryable: false,
        });
      }),
    ).rejects.toMatchObject({ code: "InvalidInstanceId.NotFound" });
    expect(time.clock.slept).toEqual([]);
  });

  it("keeps each account, region and API within its budget per minute", async () => {
    const time = fakeTime();
    const gate = new ThrottleGate({
      ...time,
      budgets: [
        { service: "ecs", perMinute: 5 },
        { service: "ecs", operation: "RunCommand", perMinute: 2 },
      ],
    });
    const starts: number[] = [];
    for (let i = 0; i < 5; i++) await gate.run(call, async () => starts.push(time.clock.now));
    expect(starts).toEqual([0, 0, 60_000, 60_000, 120_000]);
    const other: number[] = [];
    const describe = { ...call, operation: "DescribeInstances" };
    for (let i = 0; i < 6; i++) await gate.run(describe, async () => other.push(time.clock.now));
    // The service's budget (5) applies to an operation without its own.
    expect(other).toEqual([120_000, 120_000, 120_000, 120_000, 120_000, 180_000]);
  });

  it("fails a call at once, retryable, when the pause would outlast the caller's deadline", async () => {
    const time = fakeTime();
    time.clock.now = 30_000;
    const gate = new ThrottleGate({ ...time, random: () => 0, deadline: () => 50_000 });
    await expect(
      gate.run(call, async () => {
        throw throttled();
      }),
    ).rejects.toMatchObject({ code: "Throttling.Deferred", retryable: true });
    // Paused until 60 s: past the deadline, so no wait at all, and the next caller is refused too.
    expect(time.clock.slept).toEqual([]);
    await expect(gate.run(call, async () => 1)).rejects.toMatchObject({ code: "Throttling.Deferred" });
    expect(gate.throttled).toBe(1);
  });

  it("past the deadline starts no call but those that settle the run (the queue's), and cloudCall does not retry it", async () => {
    const time = fakeTime();
    time.clock.now = 50_000;
    const gate = new ThrottleGate({
      ...time,
      deadline: () => 50_000,
      startsPastDeadline: (identity) => identity.service === "mns",
    });
    let started = 0;
    const work = async () => {
      started += 1;
      return "done";
    };

    await expect(cloudCall({ gate, retry: { sleep: time.sleep } }, call, work)).rejects.toMatchObject({
      code: "Throttling.Deferred",
      retryable: true,
      message: expect.stringContaining("past its deadline"),
    });
    expect(started).toBe(0);
    expect(await gate.run({ ...call, service: "mns", operation: "BatchSendMessage" }, work)).toBe("done");
    expect(started).toBe(1);
    expect(time.clock.slept).toEqual([]);
  });

  it("before the deadline every call starts", async () => {
    const time = fakeTime();
    time.clock.now = 49_999;
    const gate = new ThrottleGate({ ...time, deadline: () => 50_000, startsPastDeadline: () => false });

    expect(await gate.run(call, async () => 1)).toBe(1);
  });

  it("waits out a pause that ends before the deadline", async () => {
    const time = fakeTime();
    time.clock.now = 30_000;
    const gate = new ThrottleGate({ ...time, random: () => 0, deadline: () => 90_000 });
    let answers = 0;
    await gate.run(call, async () => {
      answers += 1;
      if (answers === 1) throw throttled();
      return 1;
    });
    expect(time.clock.slept).toEqual([30_000]);
  });

  it("refuses a budget wait past the deadline instead of sleeping through it", async () => {
    const time = fakeTime();
    const gate = new ThrottleGate({
      ...time,
      budgets: [{ service: "ecs", perMinute: 1 }],
      deadline: () => 30_000,
    });
    await gate.run(call, async () => 1);
    await expect(gate.run(call, async () => 1)).rejects.toMatchObject({ code: "Throttling.Deferred" });
    expect(time.clock.slept).toEqual([]);
  });

  it("budgets of another account or region are counted apart", async () => {
    const time = fakeTime();
    const gate = new ThrottleGate({ ...time, budgets: [{ service: "ecs", perMinute: 1 }] });
    await gate.run(call, async () => 1);
    await gate.run({ ...call, accountId: "1800000000000512" }, async () => 1);
    await gate.run({ ...call, region: "cn-shanghai" }, async () => 1);
    expect(time.clock.slept).toEqual([]);
  });
});

describe("cloudCall through the gate", () => {
  it("does not retry a deferred call in the same invocation: the pause would meet it again", async () => {
    const time = fakeTime();
    time.clock.now = 30_000;
    const gate = new ThrottleGate({ ...time, random: () => 0, deadline: () => 50_000 });
    let served = 0;
    const retrySleeps: number[] = [];
    const attempt = () =>
      cloudCall({ gate, retry: { sleep: async (ms) => void retrySleeps.push(ms) } }, call, async () => {
        served += 1;
        throw throttled();
      });
    await expect(attempt()).rejects.toMatchObject({ code: "Throttling.Deferred" });
    expect({ served, retrySleeps }).toEqual({ served: 1, retrySleeps: [] });
  });
});

describe("parseApiBudgets", () => {
  it("reads service and operation budgets", () => {
    expect(parseApiBudgets("ecs=300, ecs:RunCommand=60,sls=600")).toEqual([
      { service: "ecs", perMinute: 300 },
      { service: "ecs", operation: "RunCommand", perMinute: 60 },
      { service: "sls", perMinute: 600 },
    ]);
    expect(parseApiBudgets("")).toEqual([]);
  });

  it.each(["ecs", "ec2=5", "ecs=0", "ecs=-1", "ecs:Run Command=5", "ecs=5;rm -rf /", "sls:=3"])(
    "refuses %p naming the item",
    (text) => {
      expect(() => parseApiBudgets(text)).toThrow(/is not <service>\[:<Operation>\]=<calls per minute>/);
    },
  );
});

/**
 * Many gates on one clock, as many FC instances are: sleeps are timers, and the clock jumps to the
 * next one only once every caller is waiting.
 */
function sharedVirtualTime() {
  let now = 0;
  const timers: Array<{ at: number; wake: () => void }> = [];
  const settle = async () => {
    for (let i = 0; i < 20; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  return {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((wake) => timers.push({ at: now + ms, wake })),
    async runUntil(done: () => boolean): Promise<void> {
      for (;;) {
        await settle();
        if (done()) return;
        timers.sort((a, b) => a.at - b.at);
        const next = timers.shift();
        if (next === undefined) throw new Error("every caller waits and no timer is set");
        now = Math.max(now, next.at);
        next.wake();
      }
    },
  };
}

/** The ledger as OSS keeps it: a slot's object is made once; `down` makes every claim fail. */
function memoryLedger() {
  const taken = new Set<string>();
  const ledger = {
    down: false,
    claims: 0,
    claim: async (slot: BudgetSlot) => {
      ledger.claims += 1;
      if (ledger.down) throw new Error("OSS unreachable");
      const key = `${slot.minute}|${slot.accountId}|${slot.region}|${slot.service}|${slot.operation}|${slot.slot}`;
      if (taken.has(key)) return false;
      taken.add(key);
      return true;
    },
  };
  return ledger;
}

describe("budgets shared by many function instances", () => {
  const RUN_COMMAND_60 = parseApiBudgets("ecs:RunCommand=60");

  /**
   * `instances` gates, each its own instance's, of which `busy` call RunCommand in one spoke
   * `callsEach` times as fast as they are let; the cloud counts calls per minute on its clock.
   */
  async function run(options: {
    instances: number;
    busy: number;
    callsEach: number;
    ledger?: ReturnType<typeof memoryLedger>;
  }) {
    const time = sharedVirtualTime();
    const perMinute = new Map<number, number>();
    let finished = 0;
    for (let i = 0; i < options.busy; i += 1) {
      const gate = new ThrottleGate({
        budgets: RUN_COMMAND_60,
        instances: options.instances,
        ...(options.ledger ? { ledger: options.ledger } : {}),
        now: time.now,
        sleep: time.sleep,
        random: () => 0.5,
      });
      void (async () => {
        for (let n = 0; n < options.callsEach; n += 1) {
          await gate.run(call, async () => {
            const minute = Math.floor(time.now() / 60_000);
            perMinute.set(minute, (perMinute.get(minute) ?? 0) + 1);
          });
        }
        finished += 1;
      })();
    }
    await time.runUntil(() => finished === options.busy);
    return {
      busiest: Math.max(...perMinute.values()),
      total: [...perMinute.values()].reduce((a, b) => a + b, 0),
      firstMinute: perMinute.get(0) ?? 0,
      minutes: Math.floor(time.now() / 60_000) + 1,
    };
  }

  it("27 busy instances leasing from the ledger stay within the deployment's 60 calls a minute", async () => {
    const ledger = memoryLedger();
    const leased = await run({ instances: 27, busy: 27, callsEach: 12, ledger });
    expect(leased.total).toBe(27 * 12);
    expect(leased.busiest).toBe(60);
    // 6 parts of 10 a minute, each won once. An instance needing 12 wins two parts and leaves 8
    // calls of the second unused: 54 parts take 9 minutes, where even shares (all busy) take 6.
    expect(leased.minutes).toBe(9);
  });

  it("a lone busy instance leases the whole budget, where an even share would give it 2 a minute", async () => {
    const ledger = memoryLedger();
    const lone = await run({ instances: 27, busy: 1, callsEach: 60, ledger });
    expect(lone).toMatchObject({ total: 60, firstMinute: 60, minutes: 1 });
    expect(ledger.claims).toBe(6);

    const shared = await run({ instances: 27, busy: 1, callsEach: 60 });
    expect(shared).toMatchObject({ total: 60, firstMinute: 2, busiest: 2 });
  });

  it("without the ledger, 27 instances keep to even shares and stay within the budget", async () => {
    const even = await run({ instances: 27, busy: 27, callsEach: 12 });
    expect(even.total).toBe(27 * 12);
    expect(even.busiest).toBeLessThanOrEqual(60);
    // Each with the whole budget, the same instances make 324 calls in their first minute: 5.4 × 60.
    const unshared = await run({ instances: 1, busy: 27, callsEach: 12 });
    expect(unshared.busiest).toBe(27 * 12);
  });

  it("when the ledger cannot be reached, each instance falls back to its even share for the minute", async () => {
    const ledger = memoryLedger();
    ledger.down = true;
    const fallback = await run({ instances: 27, busy: 27, callsEach: 4, ledger });
    expect(fallback.total).toBe(27 * 4);
    expect(fallback.busiest).toBeLessThanOrEqual(60);
  });

  it("says once per minute that the ledger failed it, naming the API", async () => {
    const ledger = memoryLedger();
    ledger.down = true;
    const told: string[] = [];
    const time = sharedVirtualTime();
    const gate = new ThrottleGate({
      budgets: RUN_COMMAND_60,
      instances: 27,
      ledger,
      onLedgerFailure: (failed, error) => told.push(`${failed.operation} at ${time.now()}: ${String(error)}`),
      now: time.now,
      sleep: time.sleep,
      random: () => 0,
    });
    let done = false;
    void (async () => {
      // The even share is 2 a minute: 5 calls take three minutes, one failed claim in each.
      for (let n = 0; n < 5; n += 1) await gate.run(call, async () => undefined);
      done = true;
    })();
    await time.runUntil(() => done);
    expect(told).toEqual([
      "RunCommand at 0: Error: OSS unreachable",
      "RunCommand at 60000: Error: OSS unreachable",
      "RunCommand at 120000: Error: OSS unreachable",
    ]);
    expect(gate.ledgerFailures).toBe(3);
  });

  it("shares round down and refuse a budget that leaves an instance nothing", () => {
    expect(shareOfBudgets(parseApiBudgets("ecs=300,sls:GetLogs=100"), 27)).toEqual([
      { service: "ecs", perMinute: 11 },
      { service: "sls", operation: "GetLogs", perMinute: 3 },
    ]);
    expect(() => shareOfBudgets(parseApiBudgets("ecs:RunCommand=26"), 27)).toThrow(
      /ecs:RunCommand=26 shared by 27 function instances leaves less than one call per minute each: raise the budget to at least 27/,
    );
  });
});
