/**
 * Three projects, all run by `npm test`:
 * - `unit`: pure functions, in-memory components and the use cases on port fakes
 *   (test/support/fakes.ts). Nothing is booted: no emulator server, no local stack or Function
 *   Compute runtime, no sandboxed host, no child process, no listening socket, no browser.
 *   `npm run test:unit` runs it with coverage of shared/: about 30-40 s on 2 cores with jest's
 *   transform cache warm (a cold cache costs more: ts-jest type-checks every file first).
 * - `stack`: whatever boots one of those. Also the default: a test file not listed below lands
 *   here, so a new test can make the suite slower but never the unit tier.
 * - `proof`: the hostile-input, privilege and chaos suites.
 * Classified by path below, each file by what it actually starts (its imports and beforeAll).
 */
const { existsSync } = require("node:fs");
const { join } = require("node:path");

/** Test files (or folders, ending in "/") that boot nothing. */
const UNIT = [
  "test/unit/",
  "test/planner/",
  "test/config/routesConfig.test.ts",
  "test/events/instanceEvents.test.ts",
  "test/hostscript/hostCommand.test.ts",
  "test/pipeline/functionEnv.test.ts",
  "test/pipeline/messagesAndDiagnosis.test.ts",
  "test/pipeline/settle.test.ts",
  "test/adapters/throttleGate.test.ts",
  // The emulator's backends, signatures, routing and query engine in memory: no server is started.
  "test/emulator/mns.units.test.ts",
  "test/emulator/sls.units.test.ts",
  "test/emulator/sls.query.test.ts",
  // The local EventBridge in memory on a frozen clock, and s.yaml / cron parsing.
  "test/localstack/eventbridge.bus.test.ts",
  "test/localstack/eventbridge.pattern.test.ts",
  "test/localstack/fc.cron.test.ts",
  "test/localstack/fc.spec.test.ts",
];

/** Hostile input, privilege and chaos: seeded proof suites on the emulator and the local stack. */
const PROOF = ["test/chaos/", "test/hostile/"];

const asGlob = (path) => `<rootDir>/${path.endsWith("/") ? `${path}**/*.test.ts` : path}`;
const asRegex = (path) => `^<rootDir>/${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`;

/** What every project shares. */
const base = {
  testEnvironment: "node",
  roots: [
    "<rootDir>/test",
    "<rootDir>/shared",
    "<rootDir>/emulator",
    "<rootDir>/functions",
    "<rootDir>/cli",
  ].filter((dir) => existsSync(dir.replace("<rootDir>", __dirname))),
  // Type errors in tests fail the run: ts-jest type-checks every test file it compiles (the unit
  // tier transpiles only; `npm run typecheck`, which CI runs first, checks its files).
  transform: {
    "^.+\\.ts$": [
      "ts-jest",
      // 151002: ts-jest's note that nodenext output is hybrid; this project compiles to CommonJS.
      { tsconfig: "tsconfig.json", diagnostics: { ignoreCodes: [151002] } },
    ],
  },
};

/** @type {import('jest').Config} */
module.exports = {
  // jest-circus reads the timeout from the global config only: it stays here, for every project.
  testTimeout: 30000,
  projects: [
    {
      ...base,
      displayName: "unit",
      testMatch: UNIT.map(asGlob),
      // Transpiled only (tsconfig.transpile.json: isolatedModules): `npm run typecheck` (tsconfig
      // includes test/) type-checks these files and CI runs it first; ts-jest's per-file type check
      // under V8 coverage was most of the tier's time (cold: 81-190 s, transpiled: 29 s).
      transform: {
        "^.+\\.ts$": [
          "ts-jest",
          { tsconfig: "tsconfig.transpile.json", diagnostics: { ignoreCodes: [151002] } },
        ],
      },
    },
    {
      ...base,
      displayName: "stack",
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", ...[...UNIT, ...PROOF].map(asRegex)],
    },
    { ...base, displayName: "proof", testMatch: PROOF.map(asGlob) },
  ],
  // Coverage is collected only when asked (`npm run test:unit` asks), so `npm test` never fails on
  // the threshold. V8's own counters: no instrumentation pass over the sources (but the inspector
  // session slows the type check ts-jest runs in the same process: a cold run takes about twice the
  // CPU of one without --coverage).
  coverageProvider: "v8",
  collectCoverageFrom: ["shared/**/*.ts"],
  coverageDirectory: join(__dirname, "coverage"),
  coverageReporters: ["text-summary", "json-summary"],
  coverageThreshold: {
    // A little below what the unit tier measured: 63.2% of statements and lines, 85.9% of branches,
    // 66.0% of functions (V8 counts the lines of files no unit test loads, such as the adapters).
    "./shared/": { statements: 60, branches: 82, functions: 62, lines: 60 },
  },
};
