import { compileEventPattern, EventPatternError, matchesEventPattern } from "../../localstack/eventbridge";

const event = {
  id: "7adc8c1a-645d-4476-bdef-5d6fb57f0001",
  source: "acs.ecs",
  type: "ecs:ActionTrail:ApiCall",
  subject: "acs:ecs:cn-hangzhou:1700000000000397:instance/i-bp1example0000001",
  aliyunaccountid: "1700000000000397",
  data: {
    eventName: "TagResources",
    count: 3,
    ratio: 0.5,
    empty: "",
    nothing: null,
    flag: true,
    sourceIpAddress: "10.0.0.17",
    instances: ["i-bp1example0000001", "i-bp1example0000002"],
    userIdentity: { accountId: "1700000000000397", type: "ram-user" },
  },
};

type Row = [title: string, pattern: unknown, expected: boolean];

const rows: Row[] = [
  ["exact value matches", { source: ["acs.ecs"] }, true],
  ["exact value is case-sensitive", { source: ["ACS.ecs"] }, false],
  ["values in a list are ORed", { source: ["acs.oss", "acs.ecs"] }, true],
  ["keys are ANDed (one fails)", { source: ["acs.ecs"], type: ["ecs:Instance:StateChange"] }, false],
  ["prefix", { type: [{ prefix: "ecs:" }] }, true],
  ["prefix rejects", { type: [{ prefix: "oss:" }] }, false],
  ["suffix", { type: [{ suffix: ":ApiCall" }] }, true],
  ["suffix rejects", { type: [{ suffix: ":StateChange" }] }, false],
  ["prefix and suffix in one object both hold", { subject: [{ prefix: "acs:ecs:", suffix: "0001" }] }, true],
  [
    "prefix and suffix in one object: one fails",
    { subject: [{ prefix: "acs:ecs:", suffix: "0002" }] },
    false,
  ],
  ["contains", { type: [{ contains: "ActionTrail" }] }, true],
  ["contains rejects", { type: [{ contains: "Config" }] }, false],
  ["anything-but a string", { source: [{ "anything-but": "acs.oss" }] }, true],
  ["anything-but a string rejects the value", { source: [{ "anything-but": "acs.ecs" }] }, false],
  ["anything-but a list", { source: [{ "anything-but": ["acs.oss", "acs.ecs"] }] }, false],
  ["anything-but a number", { data: { count: [{ "anything-but": 4 }] } }, true],
  ["anything-but a number rejects", { data: { count: [{ "anything-but": 3 }] } }, false],
  ["anything-but prefix", { source: [{ "anything-but": { prefix: "acs.o" } }] }, true],
  ["anything-but prefix rejects", { source: [{ "anything-but": { prefix: "acs." } }] }, false],
  ["anything-but suffix rejects", { type: [{ "anything-but": { suffix: "ApiCall" } }] }, false],
  ["anything-but does not match a missing field", { data: { missing: [{ "anything-but": "x" }] } }, false],
  ["numeric range", { data: { count: [{ numeric: [">", 0, "<=", 5] }] } }, true],
  ["numeric range rejects", { data: { count: [{ numeric: [">", 3] }] } }, false],
  ["numeric equality", { data: { ratio: [{ numeric: ["=", 0.5] }] } }, true],
  ["numeric on a string never matches", { source: [{ numeric: [">", 0] }] }, false],
  ["cidr", { data: { sourceIpAddress: [{ cidr: "10.0.0.0/24" }] } }, true],
  ["cidr rejects", { data: { sourceIpAddress: [{ cidr: "10.0.1.0/24" }] } }, false],
  ["cidr /0 matches any IPv4", { data: { sourceIpAddress: [{ cidr: "0.0.0.0/0" }] } }, true],
  ["exists true", { data: { eventName: [{ exists: true }] } }, true],
  ["exists true rejects a missing field", { data: { missing: [{ exists: true }] } }, false],
  ["exists false", { data: { missing: [{ exists: false }] } }, true],
  ["exists false rejects a present field", { data: { eventName: [{ exists: false }] } }, false],
  ["null", { data: { nothing: [null] } }, true],
  ["null does not match a missing field", { data: { missing: [null] } }, false],
  ["empty string", { data: { empty: [""] } }, true],
  ["boolean", { data: { flag: [true] } }, true],
  ["nested data field", { data: { userIdentity: { accountId: ["1700000000000397"] } } }, true],
  ["nested data field rejects", { data: { userIdentity: { accountId: ["1700000000000001"] } } }, false],
  ["nested pattern against a scalar fails", { source: { inner: ["x"] } }, false],
  ["an event array matches when any element does", { data: { instances: ["i-bp1example0000002"] } }, true],
  ["an event array rejects when no element does", { data: { instances: ["i-bp1example0000003"] } }, false],
  ["prefix over an event array", { data: { instances: [{ prefix: "i-bp1" }] } }, true],
  ["empty pattern matches everything", {}, true],
];

describe("EventBridge event patterns", () => {
  it.each(rows)("%s", (_title, pattern, expected) => {
    expect(matchesEventPattern(pattern, event)).toBe(expected);
  });

  it("accepts the pattern as JSON text, as s.yaml's eventRuleFilterPattern carries it", () => {
    const matcher = compileEventPattern('{"source":["acs.ecs"],"type":[{"suffix":":ApiCall"}]}');
    expect(matcher(event)).toBe(true);
    expect(matcher({ ...event, source: "acs.oss" })).toBe(false);
  });

  it("never matches a non-object event", () => {
    expect(matchesEventPattern({}, "text")).toBe(false);
    expect(matchesEventPattern({}, [event])).toBe(false);
  });

  const invalid: Array<[string, unknown, string]> = [
    ["not JSON", "{source", "(root)"],
    ["not an object", ["acs.ecs"], "(root)"],
    ["scalar condition", { source: "acs.ecs" }, "source"],
    ["empty list", { source: [] }, "source"],
    ["unknown operator", { source: [{ wildcard: "acs.*" }] }, "source[0].wildcard"],
    ["prefix not a string", { source: [{ prefix: 1 }] }, "source[0].prefix"],
    ["numeric with a bad operator", { n: [{ numeric: ["!=", 1] }] }, "n[0].numeric[0]"],
    ["numeric with a bad bound", { n: [{ numeric: [">", "1"] }] }, "n[0].numeric[1]"],
    ["cidr not a block", { ip: [{ cidr: "10.0.0.0" }] }, "ip[0].cidr"],
    ["cidr bits too large", { ip: [{ cidr: "10.0.0.0/33" }] }, "ip[0].cidr"],
    ["exists not boolean", { a: [{ exists: "yes" }] }, "a[0].exists"],
    ["exists combined", { a: [{ exists: true, prefix: "x" }] }, "a[0]"],
    ["anything-but with an object it does not know", { a: [{ "anything-but": { contains: "x" } }] }, "a[0]"],
  ];

  it.each(invalid)("refuses an invalid pattern: %s, naming where", (_title, pattern, path) => {
    expect(() => compileEventPattern(pattern)).toThrow(EventPatternError);
    expect(() => compileEventPattern(pattern)).toThrow(path);
  });
});
