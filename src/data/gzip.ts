import { DataError } from "./errors.ts";

export const isGzip = (bytes: Uint8Array): boolean => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

export function gunzipFile(bytes: Uint8Array, path: string): Uint8Array {
  try {
    return Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new DataError(path, `corrupt or truncated gzip data (${(e as Error).message})`, { cause: e });
  }
}
