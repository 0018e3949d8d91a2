import type { Node } from "web-tree-sitter";
import { assignmentOf, constructorOf, splitCalls } from "../../src/engine/python/flow.js";
import { closest, isTestPath, namesIn } from "../../src/engine/python/helpers.js";
import type { CallSite } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  dataArg,
  dataRole,
  EVAL_METHODS,
  isMetricCall,
  isSupervisedClass,
  modelKind,
  receiverText,
} from "./_lib.js";

const COMPREHENSIONS = [
  "list_comprehension",
  "generator_expression",
  "dictionary_comprehension",
  "set_comprehension",
];

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  const splits = splitCalls(py);
  if (splits.some((s) => s.kind !== "train_test_split")) return;
  const split = splits.find((s) => ctx.isAdded(s.call.line));
  if (!split) return;
  // `for name, m in models.items(): m.fit(...)` over a collection of estimators counts each of them.
  const looped = new Map<CallSite, number>();
  for (const f of py.methodCalls("fit")) {
    const n = estimatorsIteratedBy(f);
    if (n > 0) looped.set(f, n);
  }
  const fits = py.methodCalls("fit").filter((f) => looped.has(f) || modelKind(py, f) === "supervised");
  // Selection: several candidate models, or one model refitted in a loop over settings.
  // `rf = Pipeline([...]).fit(X, y)` refits the model named `rf`, it is not another candidate.
  const key = (f: CallSite) => {
    if (f.receiver?.type !== "call") return receiverText(f);
    const a = assignmentOf(py, f);
    if (a && a.value?.id === f.node.id && a.targets.length === 1) return a.targets[0];
    return constructorOf(py, f.receiver, f) ?? receiverText(f);
  };
  const candidates = new Set(fits.map(key));
  const inLoop =
    [...looped.values()].some((n) => n >= 2) ||
    fits.some(
      (f) =>
        !looped.has(f) &&
        (py.loopsAt(f).some((l) => !/epoch/i.test(l.target?.text ?? "")) ||
          !!closest(f.node, ...COMPREHENSIONS)),
    );
  if (candidates.size < 2 && !inLoop) return;
  // Compared means scored on held-out rows: a score, prediction or metric on test or validation data.
  const heldOut = py.calls.some((c) => {
    if (c.method && EVAL_METHODS.has(c.method)) {
      const role = dataRole(py, dataArg(c), c);
      return role === "test" || role === "val";
    }
    return (
      isMetricCall(c) &&
      [...c.args, ...c.keywords.values()].some((a) => ["test", "val"].includes(dataRole(py, a, c) ?? ""))
    );
  });
  if (!heldOut) return;
  function estimatorsIteratedBy(f: CallSite): number {
    if (f.receiver?.type !== "identifier") return 0;
    const name = f.receiver.text;
    const loop = py.loopsAt(f).find((l) => l.kind === "for" && l.target && namesIn(l.target).has(name));
    let iter = loop?.iter;
    // `models.items()`, `models.values()`, `enumerate(models)`, `zip(names, models)`
    for (let hops = 0; iter?.type === "call" && hops < 2; hops++) {
      const fn = iter.childForFieldName("function");
      const args = iter.childForFieldName("arguments")?.namedChildren.filter((c): c is Node => !!c) ?? [];
      if (fn?.type === "attribute" && /^(items|values)$/.test(fn.childForFieldName("attribute")?.text ?? ""))
        iter = fn.childForFieldName("object") ?? undefined;
      else if (fn?.type === "identifier" && /^(enumerate|zip)$/.test(fn.text)) iter = args[args.length - 1];
      else break;
    }
    if (iter?.type === "identifier") {
      const a = py.lastAssignment(iter.text, loop!);
      iter = a?.op === "=" && a.targets.length === 1 ? (a.value ?? undefined) : undefined;
    }
    if (!iter || !/^(list|tuple|dictionary|set)$/.test(iter.type)) return 0;
    const outer = iter;
    // Top-level constructors only: `make_pipeline(StandardScaler(), SVC())` is one candidate.
    const nested = (c: Node) => {
      for (let p = c.parent; p && p.id !== outer.id; p = p.parent) if (p.type === "call") return true;
      return false;
    };
    return iter
      .descendantsOfType("call")
      .filter((c): c is Node => !!c && !nested(c))
      .filter((c) => {
        const ctor = py.resolve(c.childForFieldName("function") ?? c);
        return !!ctor && isSupervisedClass(ctor);
      }).length;
  }

  ctx.report(split.call, {
    message:
      "Models are compared on this single train/test split, so the choice can hinge on which rows landed in the " +
      "test set. Compare candidates with cross-validation on the training data (`cross_val_score`, " +
      "`cross_validate`, or a `GridSearchCV`) and keep the test set for the final estimate.",
  });
});
