import type { Node } from "web-tree-sitter";
import { resolveDotted } from "./names.js";
import { literal, literalText } from "./python/helpers.js";
import type { CallSite, PythonModel } from "./python/model.js";
import type { MatchSpec } from "./rule.js";

// Tier 1: a call by qualified name, with conditions on its arguments.

function argRef(spec: string): { name: string; position?: number } {
  const at = spec.indexOf("@");
  if (at < 0) return { name: spec };
  return { name: spec.slice(0, at), position: Number(spec.slice(at + 1)) };
}

function argValue(call: CallSite, spec: string): Node | undefined {
  const { name, position } = argRef(spec);
  return call.arg(name, position);
}

/** What an argument's value reads as: its qualified name for dotted names, else its literal text. */
export function valueText(node: Node, model: PythonModel): string | undefined {
  const resolved = resolveDotted(node.text, model.imports);
  if (resolved) return resolved.name;
  return literalText(literal(node));
}

export function callMatches(call: CallSite, spec: MatchSpec, model: PythonModel): boolean {
  if (!call.is(...spec.call)) return false;
  if (spec.missing) {
    // With *args/**kwargs the argument may well be there: stay silent rather than guess.
    if (call.hasSplat) return false;
    if (spec.missing.some((a) => argValue(call, a) !== undefined)) return false;
  }
  if (spec.present?.some((a) => argValue(call, a) === undefined)) return false;
  if (spec.equals) {
    for (const [arg, accepted] of Object.entries(spec.equals)) {
      const node = argValue(call, arg);
      if (!node) return false;
      const text = valueText(node, model);
      if (
        text === undefined ||
        !accepted.some((v) => v === text || resolveDotted(v, new Map())?.name === text)
      ) {
        return false;
      }
    }
  }
  return true;
}

/** The calls a rule's match specs flag, each with the message of the spec that matched. */
export function runMatch(specs: MatchSpec[], model: PythonModel): { call: CallSite; message?: string }[] {
  const out: { call: CallSite; message?: string }[] = [];
  for (const call of model.calls) {
    if (call.name === undefined) continue;
    const spec = specs.find((s) => callMatches(call, s, model));
    if (spec) out.push({ call, message: spec.message });
  }
  return out;
}
