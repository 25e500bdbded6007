// Building blocks shared by the config sections. A `v.description` in a pipe is what error messages show as
// the allowed values when the type and range alone would not say it.
import * as v from "valibot";

export const positiveInt = v.pipe(v.number(), v.integer(), v.minValue(1));
export const nonNegativeInt = v.pipe(v.number(), v.integer(), v.minValue(0));
export const positiveNumber = v.pipe(v.number(), v.gtValue(0));
export const nonNegativeNumber = v.pipe(v.number(), v.minValue(0));
export const unitInterval = v.pipe(v.number(), v.minValue(0), v.maxValue(1));

export const noDuplicates = <T>(what: string) =>
  v.check<T[], string>((list) => new Set(list).size === list.length, `the list repeats ${what}`);
