import type { Node } from "web-tree-sitter";
import { lightningModules } from "../../src/engine/python/frameworks.js";
import { literal, numberValue } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef, Span } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { directCalls, localCallee, objectKey, runsPer } from "./_loop.js";

type Freq = "epoch" | "batch";

const EPOCHS = /epoch/i;
const STEPS = /len\(|steps|iters|iterations|num_training|n_iter|num_batches|\*/i;

// Only judge when the sizing argument says what it counts: epochs in the name, or a small literal.
function epochSized(node: Node | undefined, literalBelow: number): boolean {
  if (!node) return false;
  const lit = literal(node);
  if (lit?.kind === "num") return lit.value < literalBelow;
  if (lit?.kind === "list") return lit.items.every((i) => i?.kind === "num" && i.value < literalBelow);
  return EPOCHS.test(node.text) && !STEPS.test(node.text);
}

function stepSized(node: Node | undefined): boolean {
  return node !== undefined && STEPS.test(node.text);
}

const STEP_PARAM = /^(step|steps|it|iter|iteration|global_step|current_step|step_num|num_steps)$/;
const EPOCH_PARAM = /^(epoch|epochs|ep|current_epoch|epoch_num)$/;

/** `LambdaLR(opt, lambda step: ...)`: what the lambda's parameter counts, by its name. */
function lambdaCounts(fn: Node | undefined): Freq | undefined {
  if (fn?.type !== "lambda") return undefined;
  const params = fn.childForFieldName("parameters")?.namedChildren ?? [];
  if (params.length !== 1 || params[0]?.type !== "identifier") return undefined;
  const name = params[0].text;
  return STEP_PARAM.test(name) ? "batch" : EPOCH_PARAM.test(name) ? "epoch" : undefined;
}

/** How often a scheduler built by `call` expects `step()`, when its arguments make that clear. */
function frequencyOf(call: CallSite): Freq | undefined {
  const cls = call.name?.split(".").pop() ?? "";
  if (call.is("torch.optim.lr_scheduler.*")) {
    switch (cls) {
      case "StepLR":
        return epochSized(call.arg("step_size", 1), 1000) ? "epoch" : undefined;
      case "MultiStepLR":
        return epochSized(call.arg("milestones", 1), 1000) ? "epoch" : undefined;
      case "ExponentialLR": {
        const gamma = numberValue(call.arg("gamma", 1));
        return gamma !== undefined && gamma < 0.999 ? "epoch" : undefined;
      }
      case "ReduceLROnPlateau": {
        const patience = call.arg("patience", 3);
        return !patience || (numberValue(patience) ?? 1000) < 100 ? "epoch" : undefined;
      }
      case "CosineAnnealingLR": {
        const tMax = call.arg("T_max", 1);
        if (stepSized(tMax)) return "batch";
        return tMax && literal(tMax) === undefined && epochSized(tMax, 0) ? "epoch" : undefined;
      }
      case "OneCycleLR": {
        const total = call.arg("total_steps", 2);
        if (total && epochSized(total, 0)) return undefined;
        return numberValue(call.arg("steps_per_epoch")) === 1 ? undefined : "batch";
      }
      case "CyclicLR":
        return "batch";
      case "LambdaLR":
      case "MultiplicativeLR":
        return lambdaCounts(call.arg("lr_lambda", 1));
      default:
        return undefined;
    }
  }
  if (
    call.is(
      "transformers.get_*schedule*",
      "transformers.optimization.get_*schedule*",
      "transformers.get_scheduler",
    )
  ) {
    const total = call.arg("num_training_steps", call.is("transformers.get_scheduler") ? 3 : 2);
    return total && epochSized(total, 0) ? undefined : "batch";
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const built = py.callsTo(
    "torch.optim.lr_scheduler.*",
    "transformers.get_*",
    "transformers.optimization.get_*",
  );
  if (built.length === 0) return;
  const lit = lightningModules(py);

  for (const ctor of built) {
    const freq = frequencyOf(ctor);
    if (!freq) continue;
    const cls = ctor.name!.split(".").pop()!;
    const fn = py.functionAt(ctor);
    if (fn?.cls && lit.includes(fn.cls)) {
      if (fn.name === "configure_optimizers") lightningInterval(ctor, fn, freq, cls);
      continue;
    }
    const name = assignedName(ctor);
    if (!name) continue;
    const sites = stepSites(name, ctor, fn);
    if (sites.length === 0) continue;
    const where = sites.map((s) => ({ s, at: runsPer(py, s) }));
    if (freq === "epoch") {
      const bad = where.find((w) => w.at === "batch");
      if (!bad) continue;
      if (cls === "ReduceLROnPlateau") {
        report(
          bad.s,
          ctor,
          `\`ReduceLROnPlateau\` (line ${ctor.line}) counts its patience in calls to \`step()\`, but \`${textOf(bad.s)}\` runs inside the batch loop, so a few noisy batch losses are enough to cut the learning rate, many times per epoch. Step it once per epoch, after validation, with the validation metric.`,
        );
        continue;
      }
      report(
        bad.s,
        ctor,
        `\`${cls}\` (line ${ctor.line}) is sized in epochs, but \`${textOf(bad.s)}\` runs inside the batch loop, so the schedule advances once per batch and reaches its end after a fraction of the first epochs. Step it once per epoch, after the batch loop (or size it in optimiser steps).`,
      );
    } else if (where.every((w) => w.at === "epoch")) {
      report(
        where[0].s,
        ctor,
        `\`${cls}\` (line ${ctor.line}) counts optimiser steps, but \`${textOf(where[0].s)}\` runs only once per epoch, so warm-up and decay barely progress during training. Call it inside the batch loop, right after \`optimizer.step()\`.`,
      );
    }
  }

  function report(site: CallSite, ctor: CallSite, message: string) {
    const target = ctx.isAdded(site.line) || !ctx.isAdded(ctor.line) ? site : ctor;
    ctx.report(target, { message });
  }

  function textOf(call: CallSite): string {
    return `${call.callee.text.replace(/\s+/g, "")}()`;
  }

  function assignedName(ctor: CallSite): string | undefined {
    const stmt = ctor.node.parent;
    if (stmt?.type !== "assignment") return undefined;
    const left = stmt.childForFieldName("left");
    return left && (left.type === "identifier" || left.type === "attribute")
      ? left.text.replace(/\s+/g, "")
      : undefined;
  }

  /** `name.step()` calls that can reach this scheduler, also through one local helper's parameter. */
  function stepSites(name: string, ctor: CallSite, fn: FunctionDef | undefined): CallSite[] {
    const isStep = (c: CallSite, recv: string) =>
      c.method === "step" && c.receiver?.text.replace(/\s+/g, "") === recv;
    if (name.startsWith("self.")) {
      const cls = py.classAt(ctor);
      return cls ? py.callsIn(cls).filter((c) => isStep(c, name)) : [];
    }
    const scope: Span | Node = fn ? fn.body : py.tree.rootNode;
    // A module-level scheduler is also the one a function steps when it does not bind the name itself.
    const inScope = (c: CallSite) =>
      py.functionAt(c) === fn || (fn === undefined && py.lastAssignment(name, c) === undefined);
    const out = py.calls.filter((c) => c.start > ctor.end && inScope(c) && isStep(c, name));
    for (const call of directCalls(py, scope)) {
      if (call.start < ctor.end || !inScope(call)) continue;
      const helper = localCallee(py, call);
      if (!helper) continue;
      helper.explicitParams.forEach((p, i) => {
        const arg = call.keywords.get(p.name) ?? call.args[i];
        if (arg && objectKey(arg) === name && arg.type === "identifier") {
          out.push(...py.callsIn(helper.body, { direct: true }).filter((c) => isStep(c, p.name)));
        }
      });
    }
    return out;
  }

  // Lightning steps a scheduler once per epoch unless the config says `"interval": "step"`.
  function lightningInterval(ctor: CallSite, fn: FunctionDef, freq: Freq, cls: string) {
    const text = fn.body.text;
    const interval = /["']interval["']\s*:\s*["'](step|epoch)["']|interval\s*=\s*["'](step|epoch)["']/.exec(
      text,
    );
    const set: Freq = (interval?.[1] ?? interval?.[2]) === "step" ? "batch" : "epoch";
    if (set === freq) return;
    ctx.report(ctor, {
      message:
        freq === "batch"
          ? `\`${cls}\` counts optimiser steps, but Lightning steps schedulers once per epoch unless told otherwise. Return it as \`{"scheduler": scheduler, "interval": "step"}\` in the \`lr_scheduler\` config.`
          : `\`${cls}\` is sized in epochs, but the \`lr_scheduler\` config asks Lightning to step it every batch (\`"interval": "step"\`). Use \`"interval": "epoch"\` or size the schedule in steps.`,
    });
  }
});
