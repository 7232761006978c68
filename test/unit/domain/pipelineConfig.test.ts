/**
 * pipelineConfigHolds: the product's fields decide, the service's own are left alone (a config
 * updated on every apply reaches every agent every time).
 */
import { pipelineConfigHolds } from "../../../shared/domain/pipelineConfig";

const desired = {
  inputs: [{ Type: "input_file", FilePaths: ["/var/log/app/*.log"], AppendingLogPositionMeta: true }],
  processors: [{ Type: "processor_parse_regex_native", SourceKey: "content", Regex: "(.*)", Keys: ["msg"] }],
  flushers: [
    { Type: "flusher_sls", Logstore: "app", Region: "cn-hangzhou", Endpoint: "e", TelemetryType: "logs" },
  ],
};
const OWNED = ["AppendingLogPositionMeta", "TailSizeKB"];
const [input = {}] = desired.inputs;
const [processor = {}] = desired.processors;
const [flusher = {}] = desired.flushers;

test.each<[string, Parameters<typeof pipelineConfigHolds>[0], boolean]>([
  ["as written", desired, true],
  [
    "with the service's fields added on read (input defaults, the flusher's Project, key order)",
    {
      inputs: [{ MaxDirSearchDepth: 0, ...input }],
      processors: [{ ...processor, KeepingSourceWhenParseFail: false }],
      flushers: [{ Project: "central-logs", ...flusher }],
    },
    true,
  ],
  ["a path changed", { ...desired, inputs: [{ ...input, FilePaths: ["/var/log/other/*.log"] }] }, false],
  [
    "an option the product no longer wants still set",
    { ...desired, inputs: [{ ...input, TailSizeKB: 0 }] },
    false,
  ],
  [
    "an option the product wants missing",
    { ...desired, inputs: [{ Type: "input_file", FilePaths: ["/var/log/app/*.log"] }] },
    false,
  ],
  ["a processor more", { ...desired, processors: [processor, processor] }, false],
  ["no flusher", { inputs: desired.inputs, processors: desired.processors }, false],
  ["the flusher's logstore changed", { ...desired, flushers: [{ ...flusher, Logstore: "other" }] }, false],
])("%s", (_what, current, holds) => {
  expect(pipelineConfigHolds(current, desired, OWNED)).toBe(holds);
});
