// bun run tta [key=value ...] [--print-config] [--fast-dev-run] [--help]: one-shot test-time adaptation runs
// over corruption tasks, with a report in runs/<date>-<name>/ (DESIGN §2, §7).
import { checkPaths, ConfigError, configHelp, loadConfig, printConfig } from "../config/index.ts";
import { resultMeans } from "../report/index.ts";
import { runTta } from "../tta/runner.ts";

async function main(argv: string[]): Promise<number> {
  const { config, sources, commandLine } = loadConfig(argv);
  if (commandLine.help) {
    console.log(configHelp());
    return 0;
  }
  if (commandLine.printConfig) {
    console.log(printConfig(config, sources));
    return 0;
  }
  checkPaths(config);
  const outcome = await runTta(config, sources);
  const means = resultMeans(outcome.results);
  if (means) {
    const source = means.sourceAccuracy === undefined ? "" : ` (source ${means.sourceAccuracy.toFixed(2)}%, ${means.gain! >= 0 ? "+" : ""}${means.gain!.toFixed(2)})`;
    console.log(`\n${config.method.name}: mean accuracy ${means.accuracy.toFixed(2)}% over ${means.tasks} tasks${source}`);
  }
  console.log(`report: ${outcome.path}/summary.md`);
  return outcome.exitCode;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof ConfigError) console.error(e.message);
  else console.error(`error: ${(e as Error).message ?? e}`);
  process.exitCode = 2;
}
