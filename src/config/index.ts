// Configuration of `bun run tta`: composition of configs/, key=value overrides, validation, run tasks and shards.
export { splitCommandLine, type CommandLine } from "./command-line.ts";
export { ConfigError, formatIssue, type ConfigIssue } from "./config-error.ts";
export { configDiff, formatDifference, SHARD_KEYS, type ConfigDifference } from "./diff.ts";
export { defaultConfigDir, groupOptions, GROUPS, type Group } from "./groups.ts";
export { configHelp } from "./help.ts";
export { loadConfig, RESUME_MUTABLE, RUN_CONFIG_FILE, type LoadedConfig, type LoadOptions } from "./load.ts";
export { checkPaths, neededWeights, pathProblems } from "./paths.ts";
export { configYaml, printConfig } from "./print.ts";
export { DEFAULT_DDPM_STEP, DEFAULT_FLOW_TIME, resolveConfig } from "./resolve.ts";
export { ConfigSchema, type Config, type DataConfig, type MethodConfig, type ModelConfig, type RawConfig } from "./schema/index.ts";
export { formatShard, parseShard, shardTasks, type Shard } from "./shard.ts";
export { runTasks, taskList, taskName, type Task } from "./tasks.ts";
export { validateTree } from "./validate.ts";
