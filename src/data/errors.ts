// Every data-layer failure is a DataError whose message starts with the file or folder at fault.
export class DataError extends Error {
  readonly path: string;
  readonly detail: string; // the message without the path
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super(`${path}: ${detail}`, options);
    this.name = "DataError";
    this.path = path;
    this.detail = detail;
  }
}

export const formatShape = (shape: readonly number[]): string =>
  shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
