// The arguments of `bun run tta`: key=value overrides and the few flags that are not config keys.
import { ConfigError } from "./config-error.ts";

export interface CommandLine {
  overrides: string[]; // key=value tokens, flags that are config keys included (--fast-dev-run → fast_dev_run=true)
  printConfig: boolean;
  help: boolean;
}

const FLAG_OVERRIDES: Record<string, string> = { "--fast-dev-run": "fast_dev_run=true", "--fast_dev_run": "fast_dev_run=true" };
const FLAGS = ["--print-config", "--fast-dev-run", "--help", "-h"];

export function splitCommandLine(argv: readonly string[]): CommandLine {
  const line: CommandLine = { overrides: [], printConfig: false, help: false };
  for (const arg of argv) {
    if (arg === "--print-config" || arg === "--print_config") line.printConfig = true;
    else if (arg === "--help" || arg === "-h") line.help = true;
    else if (FLAG_OVERRIDES[arg]) line.overrides.push(FLAG_OVERRIDES[arg]);
    else if (arg.startsWith("-")) throw new ConfigError({ path: arg, problem: "unknown option", allowed: `${FLAGS.join(", ")} or key=value overrides`, source: "command line" });
    else line.overrides.push(arg);
  }
  return line;
}
