import type { Node } from "web-tree-sitter";
import { closest } from "../../src/engine/python/helpers.js";
import type { CallSite, Loop, PythonModel } from "../../src/engine/python/model.js";

export { onTriggerLine } from "../../src/engine/rule.js";

// Shared by the ray checks: where a call repeats, what counts as asking for resources, and what
// `ray.init` connects to.

/** Options of `@ray.remote(...)` / `.options(...)` that reserve resources for a task or actor. */
export const RESOURCE_KEYS = ["num_cpus", "num_gpus", "resources", "memory", "accelerator_type"];

const COMPREHENSIONS = [
  "list_comprehension",
  "set_comprehension",
  "dictionary_comprehension",
  "generator_expression",
];

export type Repetition = { kind: "loop"; loop: Loop; node: Node } | { kind: "comprehension"; node: Node };

/**
 * The innermost construct that runs `at` repeatedly in its own function: a loop whose body holds
 * it, or a comprehension. A call in a loop's header (`for x in ray.get(refs)`) runs once.
 */
export function repetitionOf(py: PythonModel, at: Node): Repetition | undefined {
  const fn = py.functionAt(at);
  const comp = closest(at, ...COMPREHENSIONS);
  const compInScope = comp && py.functionAt(comp) === fn ? comp : undefined;
  for (const loop of py.loopsAt(at)) {
    if (py.functionAt(loop) !== fn) break;
    const body = loop.body;
    if (at.startIndex < body.startIndex || at.endIndex > body.endIndex) continue;
    if (compInScope && compInScope.startIndex > loop.start)
      return { kind: "comprehension", node: compInScope };
    return { kind: "loop", loop, node: loop.node };
  }
  return compInScope ? { kind: "comprehension", node: compInScope } : undefined;
}

/** Names a comprehension binds in its `for ... in` clauses. */
export function comprehensionTargets(comp: Node): Set<string> {
  const out = new Set<string>();
  for (const clause of comp.namedChildren) {
    if (clause?.type !== "for_in_clause") continue;
    const left = clause.childForFieldName("left");
    if (!left) continue;
    for (const id of left.type === "identifier" ? [left] : left.descendantsOfType("identifier")) {
      if (id) out.add(id.text);
    }
  }
  return out;
}

/** The address `ray.init` is given (keyword or first positional), if any. */
export function initAddress(call: CallSite): Node | undefined {
  return call.arg("address", 0);
}
