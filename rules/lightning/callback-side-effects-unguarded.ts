import type { Node } from "web-tree-sitter";
import { lightningCallbacks } from "../../src/engine/python/frameworks.js";
import { literal, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// Any mention of the process rank in the class means the author thought about it; the guard may
// live in a helper, a stored flag or a decorator, so the whole class is left alone.
const GUARD =
  /\bis_global_zero\b|\b(?:global|local|node)_rank\b|\brank_zero_(?:only|experiment)\b|\brank\s*(?:==|!=|<|>)|get_rank\s*\(|RANK\b|\bis_main_process\b/;

const FILE_WRITES = [
  "torch.save",
  "torch.jit.save",
  "torch.onnx.export",
  "safetensors.torch.save_file",
  "numpy.save",
  "numpy.savez",
  "numpy.savez_compressed",
  "numpy.savetxt",
  "json.dump",
  "pickle.dump",
  "joblib.dump",
  "shutil.copy",
  "shutil.copy2",
  "shutil.copyfile",
  "shutil.copytree",
  "shutil.move",
  "shutil.rmtree",
  "os.remove",
  "os.unlink",
  "os.rename",
  "os.replace",
  "matplotlib.pyplot.savefig",
];
const NETWORK = [
  "requests.*",
  "httpx.*",
  "urllib.request.urlopen",
  "smtplib.SMTP",
  "smtplib.SMTP_SSL",
  "mlflow.log_*",
  "mlflow.set_tag",
  "mlflow.set_tags",
  "wandb.log",
  "wandb.save",
];
// Methods that write wherever the receiver came from; they need a target argument to write.
const WRITE_METHODS = new Set([
  "to_csv",
  "to_parquet",
  "to_json",
  "to_pickle",
  "to_onnx",
  "write_text",
  "write_bytes",
  "savefig",
  "save_pretrained",
  "upload_file",
  "upload_fileobj",
  "put_object",
]);
const SKIPPED_METHODS = new Set(["__init__", "state_dict", "load_state_dict"]);

/** The name an `open(...)` call is bound to: `with open(p, "w") as f` or `f = open(p, "w")`. */
function boundName(call: CallSite): string | undefined {
  const parent = call.node.parent;
  if (!parent) return undefined;
  if (parent.type === "as_pattern") {
    const alias = parent.childForFieldName("alias") ?? parent.namedChildren[1];
    return alias?.text.trim();
  }
  if (parent.type === "assignment" && parent.childForFieldName("left")?.type === "identifier")
    return parent.childForFieldName("left")?.text;
  return undefined;
}

/** The stream a serialiser writes into: `f` in `json.dump(obj, f)`. */
function dumpStream(call: CallSite) {
  if (call.is("json.dump", "pickle.dump")) return call.arg("fp", 1);
  if (call.is("yaml.dump", "yaml.safe_dump")) return call.arg("stream", 1);
  if (call.is("torch.save")) return call.arg("f", 1);
  if (call.is("numpy.save")) return call.arg("file", 0);
  return undefined;
}

/** The side-effecting calls of a body, one per write: a dump into a handle opened here is the open's. */
function sideEffects(py: PythonModel, body: Node): { call: CallSite; what: string | undefined }[] {
  const handles = new Set<string>();
  const out: { call: CallSite; what: string | undefined }[] = [];
  for (const call of py.callsIn(body, { direct: true })) {
    const what = sideEffect(call);
    if (what && call.name === "open") {
      const name = boundName(call);
      if (name) handles.add(name);
    }
    const stream = what ? dumpStream(call) : undefined;
    if (stream?.type === "identifier" && handles.has(stream.text)) continue;
    out.push({ call, what });
  }
  return out;
}

/** The callee as written, or `.method` when it is a long chain. */
function calleeText(call: CallSite): string {
  const text = call.callee.text.replace(/\s+/g, "");
  return text.length > 40 && call.method ? `.${call.method}` : text;
}

function sideEffect(call: CallSite): string | undefined {
  if (call.name === "open" || (call.method === "open" && call.receiver)) {
    const mode = stringValue(call.arg("mode", call.name === "open" ? 1 : 0));
    return mode && /[wax+]/.test(mode) ? "writes a file" : undefined;
  }
  if (call.is("yaml.dump", "yaml.safe_dump")) return call.arg("stream", 1) ? "writes a file" : undefined;
  if (call.is(...FILE_WRITES)) return "writes to disk";
  if (call.is(...NETWORK)) return "calls an external service";
  if (call.method && WRITE_METHODS.has(call.method) && call.receiver && call.receiver.text !== "self") {
    if (call.args.length === 0 && call.keywords.size === 0) return undefined;
    if (call.args.length > 0 && literal(call.args[0])?.kind === "none") return undefined;
    return call.method.startsWith("upload") || call.method === "put_object"
      ? "uploads a file"
      : "writes a file";
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const callbacks = lightningCallbacks(py);
  if (callbacks.length === 0) return;
  // Module-level helpers a hook calls run on every rank too, unless they guard themselves.
  const helpers = new Map(
    py.functions
      .filter(
        (f) =>
          !f.cls &&
          !f.parentFunction &&
          !GUARD.test(f.node.text) &&
          !f.decorators.some((d) => /rank_zero/.test(d)),
      )
      .map((f) => [f.name, f]),
  );
  type Effect = { call: CallSite; what: string; where: string };
  const reported = new Set<number>();
  const message = (cls: string, first: Effect, others: Effect[]) => {
    const shown = others
      .slice(0, 6)
      .map((o) => `line ${o.call.node.startPosition.row + 1} (\`${calleeText(o.call)}\`)`)
      .join(", ");
    const more = others.length > 6 ? ` and ${others.length - 6} more` : "";
    const also =
      others.length === 0
        ? ""
        : ` Callback \`${cls}\` has ${others.length} more unguarded side effect${others.length === 1 ? "" : "s"}: ` +
          `${shown}${more}; guard them the same way.`;
    return (
      `\`${calleeText(first.call)}(...)\` ${first.where} ${first.what}, and ` +
      "Lightning runs callback hooks in every process: with several devices or nodes each rank does it, " +
      "racing on the same file or sending duplicates. Run it on one process only: " +
      "`if trainer.is_global_zero:` around it, or `@rank_zero_only` (from `lightning.pytorch.utilities`) on a helper." +
      also
    );
  };
  for (const cls of callbacks) {
    if (GUARD.test(cls.node.text)) continue;
    // One finding per class: the underlying problem is the class never looking at the rank.
    const effects: Effect[] = [];
    const add = (call: CallSite, what: string, where: string) => {
      if (reported.has(call.start)) return;
      reported.add(call.start);
      effects.push({ call, what, where });
    };
    for (const method of cls.methods) {
      if (SKIPPED_METHODS.has(method.name)) continue;
      const where = `in callback \`${cls.name}.${method.name}\``;
      for (const { call, what } of sideEffects(py, method.body)) {
        if (what) {
          add(call, what, where);
          continue;
        }
        const helper = call.callee.type === "identifier" ? helpers.get(call.callee.text) : undefined;
        if (!helper || call.imported) continue;
        for (const inner of sideEffects(py, helper.body)) {
          if (inner.what)
            add(
              inner.call,
              inner.what,
              `in \`${helper.name}\`, called from callback \`${cls.name}.${method.name}\`,`,
            );
        }
      }
    }
    // Only added calls count (a multi-line call by one of its first lines); the first carries the finding.
    const isAdded = (call: CallSite) => {
      const from = call.node.startPosition.row + 1;
      const to = Math.min(call.node.endPosition.row + 1, from + 10);
      for (let l = from; l <= to; l++) if (ctx.isAdded(l)) return true;
      return false;
    };
    const added = effects.filter((e) => isAdded(e.call)).sort((a, b) => a.call.start - b.call.start);
    const [first, ...others] = added;
    if (first) ctx.report(first.call, { message: message(cls.name, first, others) });
  }
});
