import { lightningModules } from "../../src/engine/python/frameworks.js";
import { boolValue } from "../../src/engine/python/helpers.js";
import type { CallSite, FunctionDef } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { gradOffAt, isBackward, modelCallKey, objectKey, optimizerStepped, scopeCalls } from "./_loop.js";

// Modules whose gradients are prone to explode through long products of recurrent or attention steps.
const PRONE = [
  "torch.nn.LSTM",
  "torch.nn.GRU",
  "torch.nn.RNN",
  "torch.nn.LSTMCell",
  "torch.nn.GRUCell",
  "torch.nn.RNNCell",
  "torch.nn.Transformer",
  "torch.nn.TransformerEncoder",
  "torch.nn.TransformerDecoder",
  "torch.nn.TransformerEncoderLayer",
  "torch.nn.TransformerDecoderLayer",
  "torch.nn.MultiheadAttention",
  "torch.nn.functional.scaled_dot_product_attention",
];
const PRETRAINED = ["transformers.**.from_pretrained"];
// Hugging Face warm-up/decay schedules: fine-tuning a pretrained transformer with a small, warmed-up
// learning rate is the recipe the library's own `*_no_trainer` examples run without clipping.
const HF_SCHEDULES = [
  "transformers.get_scheduler",
  "transformers.get_*_schedule_with_warmup",
  "transformers.optimization.get_scheduler",
  "transformers.optimization.get_*_schedule_with_warmup",
];
const NOT_A_MODEL = /Tokenizer|Config|Processor|FeatureExtractor|Pipeline/;
const CLIP_METHOD = /clip_grad|clip_gradient|clip_norm|clip_grads/i;
// Framework settings that clip for the user (Lightning Trainer, HF TrainingArguments, Accelerate, configs).
const CLIP_SETTING =
  /^(gradient_clip_val|max_grad_norm|clip_grad|grad_clip|clip_grad_norm|gradient_clipping|grad_norm_clip)$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const backwards = py.calls.filter(isBackward);
  if (backwards.length === 0) return;
  const warmedUp = py.calls.some((c) => c.is(...HF_SCHEDULES));
  const prone = py.calls.find(
    (c) =>
      (c.is(...PRONE) ||
        (!warmedUp && c.is(...PRETRAINED) && !NOT_A_MODEL.test(c.name?.split(".").slice(-2, -1)[0] ?? ""))) &&
      !frozen(c),
  );
  if (!prone) return;
  const clips = py.calls.some(
    (c) =>
      (c.method !== undefined && CLIP_METHOD.test(c.method)) ||
      // `from torch.nn.utils import clip_grad_norm_ as clip`
      (c.name !== undefined && CLIP_METHOD.test(c.name)) ||
      [...c.keywords.keys()].some((k) => CLIP_SETTING.test(k)),
  );
  if (clips || py.assignments.some((a) => a.targets.some((t) => CLIP_SETTING.test(t.split(".").pop() ?? ""))))
    return;
  const lit = lightningModules(py);

  // A pretrained encoder used as a fixed feature extractor gets no gradients to clip.
  function frozen(ctor: CallSite): boolean {
    const stmt = ctor.node.parent;
    const key = stmt?.type === "assignment" ? objectKey(stmt.childForFieldName("left")) : undefined;
    if (!key) return false;
    const off = py
      .methodCalls("requires_grad_")
      .some((c) => boolValue(c.args[0]) === false && objectKey(c.receiver) === key);
    if (off) return true;
    const walk = `${key}.parameters(`;
    const namedWalk = `${key}.named_parameters(`;
    const walks = py.loops.filter((l) => {
      const iter = l.iter?.text.replace(/\s+/g, "") ?? "";
      return iter.startsWith(walk) || iter.startsWith(namedWalk);
    });
    if (walks.some((l) => /\.requires_grad\s*=\s*False/.test(l.body.text))) return true;
    const forwards = py.calls.filter(
      (c) => c.start > ctor.end && objectKey(c.callee) === key && modelCallKey(py, c) === key,
    );
    return forwards.length > 0 && forwards.every((c) => gradOffAt(py, c));
  }
  const seen = new Set<FunctionDef | undefined>();
  for (const backward of backwards) {
    const fn = py.functionAt(backward);
    if (seen.has(fn) || (fn?.cls && lit.includes(fn.cls))) continue;
    const step = scopeCalls(py, fn).find((c) => c.start > backward.end && optimizerStepped(py, c));
    if (!step) continue;
    seen.add(fn);
    ctx.report(backward, { message: message(prone, step, backward) });
  }
});

function message(prone: CallSite, step: CallSite, backward: CallSite): string {
  const what = prone.name?.endsWith("from_pretrained")
    ? `the pretrained transformer loaded on line ${prone.line}`
    : `the \`${prone.name?.split(".").pop()}\` built on line ${prone.line}`;
  // `accelerator.backward(loss)` / `fabric.backward(loss)`: the wrapper has its own clipping call,
  // which unscales mixed-precision gradients first.
  const wrapper = backward.args.length > 0 ? backward.receiver?.text.replace(/\s+/g, "") : undefined;
  const fix =
    wrapper && /fabric/i.test(wrapper)
      ? `\`${wrapper}.clip_gradients(model, optimizer, max_norm=1.0)\``
      : wrapper && /accelerator/i.test(wrapper)
        ? `\`${wrapper}.clip_grad_norm_(model.parameters(), 1.0)\``
        : undefined;
  return (
    `This training step (backward here, optimiser step on line ${step.line}) clips no gradients, in a file that ` +
    `trains ${what}. Recurrent and attention layers can produce rare, huge gradients that turn the loss into ` +
    "NaN or inf with no error. " +
    (fix
      ? `Add ${fix} between the backward call and \`step()\`.`
      : "Add `torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)` between `backward()` and " +
        "`step()` (after `scaler.unscale_(optimizer)` when using a GradScaler).")
  );
}
