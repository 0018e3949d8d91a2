import type { Node } from "web-tree-sitter";
import { closest, isWithin, namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { comprehensionTargets, type Repetition, repetitionOf } from "./_lib.js";

// A loop variable named like one reference (not a list of them).
const SINGLE_REF_NAME = /^(?:\w+_)?(?:ref|obj_ref|object_ref|future|fut|oid|handle_ref)$/i;
// A collection named like a list of references: `refs`, `futures`, `object_refs`, `self.result_refs`.
const REFS_NAME = /(?:^|[._])(?:refs|obj_refs|object_refs|futures|futs|oids)$/i;
// Names of groups of references (`batches_of_refs`, `for chunk in ...`): each item is a list.
const GROUP_NAME = /batch|chunk|group|shard|_of_|_?lists?$/i;

/** True when the loop walks a collection named as references, and the loop variable is not a list itself. */
function namedAsRefs(iter: Node | undefined, variable: string): boolean {
  if (!iter || REFS_NAME.test(variable) || GROUP_NAME.test(variable)) return false;
  return iterables(iter).some(
    (it) =>
      (it.type === "identifier" || it.type === "attribute") &&
      REFS_NAME.test(it.text) &&
      !GROUP_NAME.test(it.text),
  );
}

// Loop variables of iterative algorithms, where each round needs the previous one's result.
const ROUND_NAME = /epoch|step|iter|round|generation|episode|update/i;

/** True when the submitted task is one work item of the loop: it reads the loop variable, and that variable is not a training round. */
function independentItem(remote: Node | null | undefined, loopNames: Set<string>): boolean {
  if (!remote) return false;
  const read = [...namesIn(remote)].filter((n) => loopNames.has(n));
  return read.length > 0 && !read.every((n) => ROUND_NAME.test(n));
}

function isRemoteCall(node: Node | null | undefined): boolean {
  if (node?.type !== "call") return false;
  const fn = node.childForFieldName("function");
  return fn?.type === "attribute" && fn.childForFieldName("attribute")?.text === "remote";
}

/** Unwraps `enumerate(x)`, `tqdm(x)`, `zip(x, ...)`, `reversed(x)` to the iterables inside. */
function iterables(node: Node): Node[] {
  if (node.type === "call") {
    const name = node.childForFieldName("function")?.text ?? "";
    if (/^(?:enumerate|zip|reversed|list|tqdm(?:\.tqdm)?|tqdm\.auto\.tqdm)$/.test(name)) {
      const args = node.childForFieldName("arguments")?.namedChildren ?? [];
      return args.filter((a): a is Node => a !== null && a.type !== "keyword_argument").flatMap(iterables);
    }
  }
  return [node];
}

/** True when `iter` evidently holds single references: `[f.remote(x) for x in xs]`, or a list filled by `.append(f.remote(x))`. */
function holdsRefs(py: PythonModel, iter: Node, at: CallSite): boolean {
  return iterables(iter).some((it) => {
    if (it.type === "list_comprehension" || it.type === "generator_expression")
      return isRemoteCall(it.namedChildren[0]);
    if (it.type !== "identifier") return false;
    const a = py.lastAssignment(it.text, at);
    if (a?.value?.type === "list_comprehension" && isRemoteCall(a.value.namedChildren[0])) return true;
    const fn = py.functionAt(at);
    return py
      .methodCalls("append")
      .some((c) => c.receiver?.text === it.text && py.functionAt(c) === fn && isRemoteCall(c.args[0]));
  });
}

/**
 * True when `refs[i]` is itself a list of references: `refs` was built from tasks submitted with
 * `.options(num_returns=n)`, so each `ray.get(refs[i])` already fetches several results at once.
 */
function holdsRefLists(py: PythonModel, sub: Node, at: CallSite): boolean {
  const value = sub.childForFieldName("value");
  if (value?.type !== "identifier") return false;
  const a = py.lastAssignment(value.text, at);
  const element = a?.value?.type === "list_comprehension" ? a.value.namedChildren[0] : undefined;
  return element !== undefined && element !== null && /\bnum_returns\s*=\s*(?!1\b)/.test(element.text);
}

function loopTargets(rep: Repetition): { names: Set<string>; iter?: Node } {
  if (rep.kind === "loop") {
    const t = rep.loop.target;
    return { names: t ? namesIn(t) : new Set(), iter: rep.loop.iter };
  }
  const clause = rep.node.namedChildren.find((c) => c?.type === "for_in_clause");
  return { names: comprehensionTargets(rep.node), iter: clause?.childForFieldName("right") ?? undefined };
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const gets = py.callsTo("ray.get");
  if (gets.length === 0) return;
  const waits = py.callsTo("ray.wait");
  for (const call of gets) {
    const arg = call.arg("object_refs", 0);
    if (!arg || call.keywords.has("timeout")) continue;
    const rep = repetitionOf(py, call.node);
    if (!rep) continue;
    // `while pending: done, pending = ray.wait(pending)` is the right way to consume results.
    const fn = py.functionAt(call);
    if (
      py
        .loopsAt(call)
        .some((l) => py.functionAt(l) === fn && waits.some((w) => l.start <= w.start && w.end <= l.end))
    )
      continue;
    const { names, iter } = loopTargets(rep);
    let single = false;
    let submitted = false;
    if (isRemoteCall(arg)) {
      submitted = independentItem(arg, names);
    } else if (arg.type === "identifier") {
      if (names.has(arg.text))
        single =
          SINGLE_REF_NAME.test(arg.text) ||
          (iter !== undefined && holdsRefs(py, iter, call)) ||
          namedAsRefs(iter, arg.text);
      else if (rep.kind === "loop") {
        const a = py.lastAssignment(arg.text, call);
        submitted =
          a !== undefined &&
          a.start >= rep.loop.body.startIndex &&
          isRemoteCall(a.value) &&
          independentItem(a.value, names);
      }
    } else if (arg.type === "subscript") {
      const index = arg.childForFieldName("subscript");
      single = index?.type === "identifier" && names.has(index.text) && !holdsRefLists(py, arg, call);
    }
    // Fetching each result inside `try` isolates one task's failure from the others: deliberate.
    const guard = closest(call.node, "try_statement");
    if (single && guard && isWithin(guard, rep.node)) continue;
    if (!single && !submitted) continue;
    ctx.report(call, {
      message: submitted
        ? "`ray.get` right after submitting the task blocks until it finishes before the next iteration submits " +
          "another, so the loop runs the tasks one at a time. Submit them all first (`refs = [f.remote(x) for x in xs]`) " +
          "and call `ray.get(refs)` once after the loop, or consume them as they finish with `ray.wait`."
        : "`ray.get` on one reference per iteration waits for each result in turn, one round trip per object, and " +
          "stalls on the slowest task in order. Fetch them together with `ray.get(refs)` once, or process them as " +
          "they complete with `ready, refs = ray.wait(refs)`.",
    });
  }
});
