// What a valibot schema allows, in words ("an integer from 1 to 5", "one of episodic, continual"), and the
// sub-schema at a dotted path — so that errors can say what would have been accepted.
import type { GenericSchema } from "valibot";

type Action = { type: string; requirement?: unknown; description?: string };
type Node = {
  type: string;
  pipe?: (Node | Action)[];
  wrapped?: Node;
  entries?: Record<string, Node>;
  options?: unknown[];
  item?: Node;
  items?: Node[];
  literal?: unknown;
};

const actionsOf = (node: Node): Action[] => (node.pipe ? (node.pipe.slice(1) as Action[]) : []);
const fmt = (x: unknown) => (typeof x === "string" ? x : JSON.stringify(x));

function numberRange(actions: Action[]): string {
  const at = (type: string) => actions.find((a) => a.type === type)?.requirement as number | undefined;
  const [min, max, gt, lt] = [at("min_value"), at("max_value"), at("gt_value"), at("lt_value")];
  if (min !== undefined && max !== undefined) return ` from ${min} to ${max}`;
  const bounds = [min !== undefined && `>= ${min}`, gt !== undefined && `> ${gt}`, lt !== undefined && `< ${lt}`, max !== undefined && `<= ${max}`].filter(Boolean);
  return bounds.length ? ` ${bounds.join(" and ")}` : "";
}

export function describeSchema(schema: GenericSchema | Node): string {
  const node = schema as Node;
  const actions = actionsOf(node);
  const described = actions.find((a) => a.type === "description")?.description;
  if (described) return described;
  switch (node.type) {
    case "nullable":
    case "optional":
      return `${describeSchema(node.wrapped!)}, or null`;
    case "picklist":
      return `one of ${node.options!.map(fmt).join(", ")}`;
    case "literal":
      return fmt(node.literal);
    case "boolean":
      return "true or false";
    case "string":
      return "a string";
    case "number":
      return `${actions.some((a) => a.type === "integer") ? "an integer" : "a number"}${numberRange(actions)}`;
    case "array": {
      const min = actions.find((a) => a.type === "min_length")?.requirement;
      return `a ${min ? "non-empty " : ""}list of: ${describeSchema(node.item!)}`;
    }
    case "tuple":
      return `a list of ${node.items!.length}: [${node.items!.map(describeSchema).join("; ")}]`;
    case "object":
    case "strict_object":
      return `a mapping with keys ${Object.keys(node.entries!).join(", ")}`;
    default:
      return node.type;
  }
}

/** Steps through nullable/optional wrappers to the schema underneath. */
export function unwrapSchema(schema: GenericSchema | Node): Node {
  let node = schema as Node;
  while ((node.type === "nullable" || node.type === "optional") && node.wrapped) node = node.wrapped;
  return node;
}

/** The sub-schema at a dotted path, or undefined where the path leaves the schema. */
export function schemaAt(schema: GenericSchema | Node, path: string): Node | undefined {
  let node: Node | undefined = schema as Node;
  for (const key of path ? path.split(".") : []) {
    node = unwrapSchema(node);
    if (node.entries) node = node.entries[key];
    else if (node.item && /^\d+$/.test(key)) node = node.item;
    else if (node.items && /^\d+$/.test(key)) node = node.items[Number(key)];
    else return undefined;
    if (!node) return undefined;
  }
  return node;
}

/** The keys a mapping at `path` may have (empty when it is not a mapping). */
export function keysAt(schema: GenericSchema | Node, path: string): string[] {
  const node = schemaAt(schema, path);
  return node ? Object.keys(unwrapSchema(node).entries ?? {}) : [];
}
