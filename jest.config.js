/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: [
    "<rootDir>/test",
    "<rootDir>/shared",
    "<rootDir>/emulator",
    "<rootDir>/functions",
    "<rootDir>/cli",
  ].filter((dir) => require("node:fs").existsSync(dir.replace("<rootDir>", __dirname))),
  testMatch: ["**/*.test.ts"],
  // Type errors in tests fail the run: ts-jest type-checks every test file it compiles.
  transform: {
    "^.+\\.ts$": [
      "ts-jest",
      // 151002: ts-jest's note that nodenext output is hybrid; this project compiles to CommonJS.
      { tsconfig: "tsconfig.json", diagnostics: { ignoreCodes: [151002] } },
    ],
  },
  testTimeout: 30000,
};
