import { literal, numberValue } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { kanModels, widthOf } from "./_lib.js";

// Counting parameters anywhere in the file is what makes the comparison fair.
const COUNTS_PARAMS =
  /numel\s*\(|count_\w*param|num_param|n_params|n_parameters|param_count|parameters_count|\b(kan|mlp)_?params\b|torchinfo|summary\s*\(/i;
const LINEAR = ["torch.nn.Linear", "keras.layers.Dense"];
// Calls that build the MLP baseline: `MLP(widths)`, `make_mlp(...)`, `FeedForward(...)`.
const MLP_BUILDER = /(^|[._])(mlp|MLP|Mlp)\w*$|(^|\.)(\w*_mlp|FeedForward|Perceptron)\w*$/;

export default defineCheck((ctx) => {
  const { py } = ctx;
  const models = kanModels(py);
  if (models.length === 0 || COUNTS_PARAMS.test(ctx.text)) return;
  const mlpHidden = mlpHiddenSizes();
  for (const { ctor } of models) {
    // `widths = [4, 16, 1]` handed to both the KAN and an MLP builder: the same widths by construction.
    const widthArg = ctor.arg("width", 0);
    if (widthArg?.type === "identifier" || widthArg?.type === "attribute") {
      const shared = py.calls.find(
        (c) =>
          c !== ctor &&
          MLP_BUILDER.test(c.callee.text) &&
          [...c.args, ...c.keywords.values()].some((a) => a.text === widthArg.text),
      );
      if (shared) {
        ctx.report(widthArg, {
          message:
            `This KAN takes its widths from \`${widthArg.text}\`, the same list the MLP baseline is built from, but a ` +
            "KAN edge carries a whole spline (about grid + k coefficients) where an MLP edge has one weight, so the KAN " +
            "has many times more parameters. Compare models at equal parameter counts (report `sum(p.numel() for p " +
            "in model.parameters())` for both).",
        });
        continue;
      }
    }
    if (mlpHidden.size === 0) continue;
    const width = widthOf(ctor, py);
    if (!width || width.sizes.length < 3) continue;
    const hidden = width.sizes.slice(1, -1);
    if (!hidden.every((h) => h !== undefined && mlpHidden.has(h))) continue;
    ctx.report(width.node, {
      message:
        `This KAN uses the same hidden widths (${hidden.join(", ")}) as the MLP it is compared with, but a KAN edge ` +
        "carries a whole spline (about grid + k coefficients) where an MLP edge has one weight, so the KAN has many " +
        "times more parameters. Compare models at equal parameter counts (report `sum(p.numel() for p in " +
        "model.parameters())` for both).",
    });
  }

  /** Hidden sizes of MLPs built in the file: `nn.Linear(a, b)` outputs, pykan's `MLP(width=...)`, sklearn's layers. */
  function mlpHiddenSizes(): Set<number> {
    const out = new Set<number>();
    for (const c of py.calls) {
      if (c.is(...LINEAR)) {
        const n = numberValue(c.arg("out_features", 1) ?? c.arg("units", 0));
        if (n !== undefined) out.add(n);
      } else if (c.is("kan.MLP", "kan.**.MLP") || (c.name === "MLP" && !c.imported)) {
        const w = literal(c.arg("width", 0));
        if (w?.kind === "list") for (const i of w.items.slice(1, -1)) if (i?.kind === "num") out.add(i.value);
      } else if (c.is("sklearn.neural_network.MLPRegressor", "sklearn.neural_network.MLPClassifier")) {
        const h = c.keywords.get("hidden_layer_sizes");
        for (const n of h?.namedChildren ?? []) {
          const v = numberValue(n);
          if (v !== undefined) out.add(v);
        }
      }
    }
    return out;
  }
});
