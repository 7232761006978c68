/** Where a command writes, and the exit code it settles on: the process, or a buffer in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Colour on stdout only when it is a terminal; progress bars on stderr likewise. */
  stdoutIsTty?(): boolean;
  stderrIsTty?(): boolean;
  setExitCode(code: number): void;
  exitCode(): number;
}

let processExitCode = 0;

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stdoutIsTty: () => process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
  stderrIsTty: () => process.stderr.isTTY === true,
  setExitCode: (code) => {
    processExitCode = code;
  },
  exitCode: () => processExitCode,
};

export function bufferIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  let code = 0;
  return {
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
    },
    setExitCode: (value) => {
      code = value;
    },
    exitCode: () => code,
    stdout: () => out,
    stderr: () => err,
  };
}
