// Loading a checkpoint of any supported kind into a flat state dict: the format is recognised from the content
// (safetensors or a PyTorch zip), training wrappers are unwrapped ({'ema' | 'model' | 'state_dict': ...}) and
// DataParallel / torch.compile prefixes stripped. Renaming (rename.ts) and matching against a model
// (load-report.ts) are the caller's next steps; this module re-exports them so one import serves.
import { CheckpointError } from "./checkpoint-error.ts";
import { openFile, type ReadOptions } from "./mapped-file.ts";
import type { PyKey, PyValue } from "./pickle.ts";
import { readSafetensorsSource } from "./safetensors.ts";
import type { StoredTensor } from "./tensor.ts";
import { isLegacyTorchPickle, readTorchCheckpointSource, tensorsOf } from "./torch-checkpoint.ts";
import { isZip } from "./zip.ts";

export { CheckpointError } from "./checkpoint-error.ts";
export { matchStateDict, matchesKey, type KeyPattern, type LoadReport, type MatchOptions, type MisshapedKey } from "./load-report.ts";
export { detectConvNeXtNaming, renameConvNeXtKeys, renameKeys, renameVaeKeys, type ConvNeXtNaming } from "./rename.ts";
export { readSafetensors, writeSafetensors, writeSafetensorsSync, type Metadata, type TensorToWrite } from "./safetensors.ts";
export { readTorchCheckpoint } from "./torch-checkpoint.ts";
export type { StoredDtype, StoredTensor, TensorData } from "./tensor.ts";

export type CheckpointFormat = "safetensors" | "torch";

export const DEFAULT_UNWRAP_KEYS: readonly string[] = ["ema", "model", "state_dict"];
export const DEFAULT_STRIP_PREFIXES: readonly string[] = ["module.", "_orig_mod."];

export type LoadOptions = ReadOptions & {
  unwrap?: readonly string[] | false; // wrapper keys, in order of preference (default DEFAULT_UNWRAP_KEYS); false: none
  stripPrefixes?: readonly string[]; // default DEFAULT_STRIP_PREFIXES (DataParallel, torch.compile)
};

export type LoadedCheckpoint = {
  file: string;
  format: CheckpointFormat;
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>; // safetensors __metadata__ ({} for torch files)
  extra: Record<string, unknown>; // torch files: every non-tensor entry (args, steps, ...); {} for safetensors
  topLevelKeys: string[]; // torch files: the keys of the top-level dict
  unwrapped: string[]; // the wrapper keys descended into, outermost first (e.g. ["ema"]); [] for a raw state dict
  strippedPrefixes: string[]; // the prefixes that were removed from at least one key
};

// From the first 9 bytes of the file (fewer when it is shorter).
export function detectCheckpointFormat(file: string, head: Uint8Array): CheckpointFormat {
  if (isZip(head) || isLegacyTorchPickle(head)) return "torch";
  if (head.byteLength >= 9 && head[8] !== 0x7b)
    throw new CheckpointError(file, "unrecognised format: neither safetensors (8-byte length + JSON header) nor a PyTorch zip checkpoint");
  return "safetensors";
}

// Descends through wrapper dicts ({'ema': {...}}) while one of `keys` holds a dict; the first key present wins.
export function unwrapStateDict(root: PyValue, keys: readonly string[]): { value: PyValue; path: string[] } {
  let value = root;
  const path: string[] = [];
  while (value instanceof Map && path.length < 8) {
    const dict: Map<PyKey, PyValue> = value;
    const key = keys.find((k) => dict.get(k) instanceof Map);
    if (key === undefined) break;
    value = dict.get(key)!;
    path.push(key);
  }
  return { value, path };
}

function stripPrefixes(file: string, tensors: Map<string, StoredTensor>, prefixes: readonly string[]): { tensors: Map<string, StoredTensor>; stripped: string[] } {
  const stripped = new Set<string>();
  const out = new Map<string, StoredTensor>(), from = new Map<string, string>();
  for (const [name, tensor] of tensors) {
    let key = name;
    for (let changed = true; changed; ) {
      changed = false;
      for (const prefix of prefixes)
        if (key.startsWith(prefix)) {
          key = key.slice(prefix.length);
          stripped.add(prefix);
          changed = true;
        }
    }
    if (out.has(key)) throw new CheckpointError(file, `keys '${from.get(key)}' and '${name}' are both '${key}' without their prefixes`);
    out.set(key, tensor);
    from.set(key, name);
  }
  return { tensors: out, stripped: [...stripped] };
}

export function loadCheckpoint(path: string, options: LoadOptions = {}): LoadedCheckpoint {
  const source = openFile(path, options);
  const format = detectCheckpointFormat(path, source.bytes(0, Math.min(9, source.size)));
  let loaded: Omit<LoadedCheckpoint, "strippedPrefixes">;
  if (format === "safetensors") {
    const { tensors, metadata } = readSafetensorsSource(source);
    loaded = { file: path, format, tensors, metadata, extra: {}, topLevelKeys: [], unwrapped: [] };
  } else {
    const checkpoint = readTorchCheckpointSource(source);
    const { value, path: unwrapped } = unwrapStateDict(checkpoint.root, options.unwrap === false ? [] : (options.unwrap ?? DEFAULT_UNWRAP_KEYS));
    const topLevelKeys = checkpoint.root instanceof Map ? [...checkpoint.root.keys()].map(String) : [];
    const tensors = unwrapped.length ? tensorsOf(path, value, "") : checkpoint.tensors;
    loaded = { file: path, format, tensors, metadata: {}, extra: checkpoint.extra, topLevelKeys, unwrapped };
  }
  if (loaded.tensors.size === 0)
    throw new CheckpointError(path, `holds no tensors${loaded.topLevelKeys.length ? ` (top-level keys: ${loaded.topLevelKeys.join(", ")})` : ""}`);
  const { tensors, stripped } = stripPrefixes(path, loaded.tensors, options.stripPrefixes ?? DEFAULT_STRIP_PREFIXES);
  return { ...loaded, tensors, strippedPrefixes: stripped };
}
