// The error a failed native call becomes: names the function, its arguments (tensor shapes) and the status.
export const statusNames = ["ok", "invalid argument", "out of memory", "backend failure", "unsupported"] as const;

export class DusaError extends Error {
  constructor(readonly op: string, readonly status: number, readonly detail: string, readonly args: string) {
    super(`${op}(${args}) failed: ${statusNames[status] ?? `status ${status}`}: ${detail}`);
    this.name = "DusaError";
  }
}
