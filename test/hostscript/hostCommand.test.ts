import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ACCOUNT_UID, CUSTOM_IDENTIFIER } from "../../shared/config/patterns";
import {
  compactScript,
  type HostAction,
  HostCommandError,
  MAX_COMMAND_CONTENT_BASE64_BYTES,
  renderHostCommand,
  renderHostScript,
} from "../../shared/hostscript/hostCommand";
import { parseHostReport } from "../../shared/hostscript/hostReport";
import { readHostScripts } from "../../shared/hostscript/hostScripts";

const scripts = readHostScripts();
const UID = "1200000000000456";
const decode = (content: string) => Buffer.from(content, "base64").toString("utf8");

const hostileValues: Array<[string, string]> = [
  ["semicolon", "a;reboot"],
  ["command substitution", "$(reboot)"],
  ["backticks", "`reboot`"],
  ["newline", "a\nreboot"],
  ["trailing newline", "abc\n"],
  ["carriage return", "abc\r"],
  ["path traversal", "../etc"],
  ["single quote", "a'b"],
  ["double quote", 'a"b'],
  ["space", "a b"],
  ["leading dash", "-a"],
  ["very long", "x".repeat(10_000)],
  ["non-ASCII", "é"],
  ["unicode look-alike", "аdmin"],
  ["empty", ""],
];

describe("rendering a host command", () => {
  test("Linux: the exact script with the arguments bound by set --, Base64, under the size limit", () => {
    const command = renderHostCommand(
      "linux",
      { action: "authorize", uid: UID, identifier: "app-b-prod" },
      scripts,
    );

    expect(command.type).toBe("RunShellScript");
    expect(command.contentEncoding).toBe("Base64");
    expect(command.commandContent.length).toBeLessThanOrEqual(MAX_COMMAND_CONTENT_BASE64_BYTES);
    const script = decode(command.commandContent);
    const [shebang, setLine] = script.split("\n");
    expect(shebang).toBe("#!/bin/sh");
    expect(setLine).toBe(`set -- 'authorize' '--uid' '${UID}' '--id' 'app-b-prod'`);
    expect(script).not.toContain("\r");
  });

  test("revoke names its identifiers, then the other identifiers of the UID", () => {
    const script = renderHostScript(
      "linux",
      { action: "revoke", uid: UID, identifiers: ["a", "z"], otherIdentifiers: ["b", "c"] },
      scripts,
    );

    expect(script.split("\n")[1]).toBe(
      `set -- 'revoke' '--uid' '${UID}' '--id' 'a' '--id' 'z' '--other-id' 'b' '--other-id' 'c'`,
    );
  });

  test("Windows revokes one identifier a command; no identifier at all is refused everywhere", () => {
    const two: HostAction = { action: "revoke", uid: UID, identifiers: ["a", "z"], otherIdentifiers: [] };
    const none: HostAction = { action: "revoke", uid: UID, identifiers: [], otherIdentifiers: [] };

    expect(() => renderHostScript("windows", two, scripts)).toThrow(/^identifiers: the Windows script/);
    expect(() => renderHostScript("linux", none, scripts)).toThrow(/^identifiers: must be a list/);
  });

  test("Windows: the arguments bound in $LtxArguments, PowerShell type, under the size limit", () => {
    const command = renderHostCommand(
      "windows",
      { action: "authorize", uid: UID, identifier: "app-b-win" },
      scripts,
    );

    expect(command.type).toBe("RunPowerShellScript");
    expect(command.commandContent.length).toBeLessThanOrEqual(MAX_COMMAND_CONTENT_BASE64_BYTES);
    const script = decode(command.commandContent);
    expect(script.split("\n")[0]).toBe(
      `$LtxArguments = @('authorize', '--uid', '${UID}', '--id', 'app-b-win')`,
    );
    expect(script).not.toContain("\r");
  });

  test("inspect with files passes --since and each path as its own quoted word; only it carries the listing", () => {
    const action: HostAction = {
      action: "inspect",
      files: { paths: ["/var/log/app/*.log", "/var/log/it's here/*.log"], sinceSeconds: 1_775_000_000 },
    };
    const rendered = renderHostScript("linux", action, scripts);

    expect(rendered.split("\n")[1]).toBe(
      "set -- 'inspect' '--since' '1775000000' '--path' '/var/log/app/*.log' '--path' '/var/log/it'\\''s here/*.log'",
    );
    expect(rendered).toContain("json_files() {");
    expect(renderHostScript("linux", { action: "inspect" }, scripts)).not.toContain("json_files() {");
    expect(
      renderHostScript("linux", { action: "authorize", uid: UID, identifier: "a" }, scripts),
    ).not.toContain('paths="$paths$value');
  });

  test.each([
    ["a relative path", "var/log/*.log", "files.paths[0]"],
    ["a '..' segment", "/var/log/../../etc/*", "files.paths[0]"],
    ["a newline", "/var/log/a\n/*.log", "files.paths[0]"],
  ])("inspect refuses %s before anything is sent", (_what, path, argument) => {
    expect(() =>
      renderHostCommand("linux", { action: "inspect", files: { paths: [path], sinceSeconds: 1 } }, scripts),
    ).toThrow(expect.objectContaining({ argument }));
  });

  test("a revoke naming 30 other identifiers of 40 characters still fits on both systems", () => {
    const others = Array.from({ length: 30 }, (_, i) => `${"o".repeat(37)}-${String(i).padStart(2, "0")}`);
    const action: HostAction = {
      action: "revoke",
      uid: UID,
      identifiers: ["i".repeat(128)],
      otherIdentifiers: others,
    };

    for (const os of ["linux", "windows"] as const) {
      expect(renderHostCommand(os, action, scripts).commandContent.length).toBeLessThanOrEqual(
        MAX_COMMAND_CONTENT_BASE64_BYTES,
      );
    }
  });

  test("a revoke naming more identifiers than fit is refused with the size, not sent truncated", () => {
    const others = Array.from({ length: 100 }, (_, i) => `${"o".repeat(120)}-${i}`);
    const action: HostAction = { action: "revoke", uid: UID, identifiers: ["ok"], otherIdentifiers: others };

    expect(() => renderHostCommand("linux", action, scripts)).toThrow(
      /^script: renders to \d+ bytes of Base64/,
    );
  });

  test("a script too large for Cloud Assistant is refused before anything is sent", () => {
    const bloated = { ...scripts, linux: `#!/bin/sh\n${"echo padding\n".repeat(2000)}` };

    expect(() => renderHostCommand("linux", { action: "inspect" }, bloated)).toThrow(
      /over Cloud Assistant's 18432/,
    );
  });

  test("compacting keeps the shebang and drops comments, blank lines and indentation", () => {
    expect(compactScript("#!/bin/sh\n# note\n\n  echo hi\n\t# more\nexit 0\n")).toBe(
      "#!/bin/sh\necho hi\nexit 0\n",
    );
  });

  test.each(hostileValues)("an identifier with %s is refused before rendering", (_name, value) => {
    for (const os of ["linux", "windows"] as const) {
      expect(() =>
        renderHostCommand(os, { action: "authorize", uid: UID, identifier: value }, scripts),
      ).toThrow(HostCommandError);
    }
  });

  test.each(hostileValues)("a UID with %s is refused before rendering", (_name, value) => {
    expect(() =>
      renderHostCommand("linux", { action: "authorize", uid: value, identifier: "ok" }, scripts),
    ).toThrow(/^uid: must be a 16-digit account UID$/);
  });

  test.each(hostileValues)("another identifier with %s is refused, naming its position", (_name, value) => {
    expect(() =>
      renderHostCommand(
        "linux",
        { action: "revoke", uid: UID, identifiers: ["ok"], otherIdentifiers: ["fine", value] },
        scripts,
      ),
    ).toThrow(/^otherIdentifiers\[1\]: must be/);
  });

  test("values that are not strings are refused (data from a message is untyped)", () => {
    const action = JSON.parse(`{"action":"authorize","uid":1200000000000456,"identifier":"ok"}`);

    expect(() => renderHostCommand("linux", action, scripts)).toThrow(/^uid:/);
  });
});

describe("the Windows script", () => {
  const text = readFileSync(join(__dirname, "../../shared/hostscript/windows.ps1"), "utf8");

  test("validates with the same patterns as the config schema, anchored with \\z", () => {
    const uidPattern = /\$UidPattern = '([^']+)'/.exec(text)?.[1];
    const idPattern = /\$IdentifierPattern = '([^']+)'/.exec(text)?.[1];

    expect(uidPattern).toBe(ACCOUNT_UID.source.replace(/\$$/, "\\z"));
    expect(idPattern).toBe(CUSTOM_IDENTIFIER.source.replace(/\$$/, "\\z"));
  });

  test("matches case-sensitively and never evaluates a string", () => {
    expect(text).not.toMatch(/\s-match\s|\s-notmatch\s/);
    expect(text).not.toMatch(/Invoke-Expression|\biex\b|ScriptBlock\]::Create|Start-Process/i);
  });

  test("has LF line endings and writes identifier lines with LF only", () => {
    expect(text).not.toContain("\r");
    expect(text).toContain('($out -join "`n") + "`n"');
  });

  test("refuses Logtail before 2.0 on authorize, before it writes anything, as linux.sh does", () => {
    const authorize = text.slice(text.indexOf("function Invoke-Authorize"));
    const firstStatement = authorize.split("\n")[1]?.trim();

    expect(firstStatement).toBe("Assert-AgentVersion");
    expect(text).toContain("Exit-Failure 5 'AgentTooOld'");
    expect(text).toContain("-cmatch '^(\\d+)\\.'");
    expect(text).toContain("[int]$Matches[1] -lt 2");
  });

  test("works on C:\\LogtailData and restarts LogtailDaemon", () => {
    expect(text).toContain("$DataDir = 'C:\\LogtailData'");
    expect(text).toContain("@('LogtailDaemon', 'LogtailWorker')");
  });
});

describe("reading a host report", () => {
  const report = {
    tool: "logtail-xacct",
    scriptVersion: 1,
    action: "inspect",
    ok: true,
    changed: { uidFile: false, identifiers: false },
    uidFiles: [UID],
    identifiers: ["app-b"],
    agent: { flavor: "ilogtail", control: "initd", running: true, restarted: false, restartError: null },
    host: { dmiUuid: "4C4C4544-0042", ip: "10.0.0.1", hostname: "h", agentVersion: "1.8.7" },
    error: null,
  };

  test("takes the last line, after anything else the host printed", () => {
    const result = parseHostReport(`some warning\n${JSON.stringify(report)}\n\n`);

    expect(result).toEqual({ ok: true, report });
  });

  test.each<[string, string, RegExp]>([
    ["nothing", "", /printed nothing/],
    ["a last line that is not JSON", "Segmentation fault\n", /not JSON/],
    ["a report with a wrong field", JSON.stringify({ ...report, ok: "yes" }), /malformed at ok/],
    ["another tool's JSON", JSON.stringify({ tool: "other" }), /malformed at tool/],
  ])("refuses %s with a reason", (_name, output, reason) => {
    const result = parseHostReport(output);

    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.reason).toMatch(reason);
  });
});
