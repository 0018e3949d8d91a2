import { describe, expect, it } from "vitest";
import {
  addImportBindings,
  canonicalName,
  type ImportMap,
  nameMatches,
  resolveDotted,
} from "../../src/engine/names.js";

function imports(...lines: string[]): ImportMap {
  const map: ImportMap = new Map();
  for (const l of lines) addImportBindings(l, map);
  return map;
}

describe("name resolution through imports", () => {
  it("resolves module aliases", () => {
    expect(resolveDotted("y.load", imports("import yaml as y"))?.name).toBe("yaml.load");
  });
  it("resolves from-imports of submodules", () => {
    const m = imports("from torch import nn");
    expect(resolveDotted("nn.functional.relu", m)?.name).toBe("torch.nn.functional.relu");
  });
  it("resolves renamed functions", () => {
    expect(resolveDotted("L", imports("from yaml import load as L"))?.name).toBe("yaml.load");
  });
  it("binds the root package for dotted imports", () => {
    const m = imports("import torch.nn");
    expect(resolveDotted("torch.nn.Linear", m)).toEqual({ name: "torch.nn.Linear", imported: true });
  });
  it("handles parenthesised multi-name imports with comments", () => {
    const m = imports(
      "from sklearn.model_selection import (\n  train_test_split as tts,  # short\n  KFold,\n)",
    );
    expect(resolveDotted("tts", m)?.name).toBe("sklearn.model_selection.train_test_split");
    expect(resolveDotted("KFold", m)?.name).toBe("sklearn.model_selection.KFold");
  });
  it("leaves locals unresolved and non-dotted expressions alone", () => {
    const m = imports("import torch");
    expect(resolveDotted("model.fit", m)).toEqual({ name: "model.fit", imported: false });
    expect(resolveDotted("make().fit", m)).toBeUndefined();
  });
  it("keeps relative imports away from library names", () => {
    expect(resolveDotted("load", imports("from .yaml import load"))?.name).toBe(".yaml.load");
  });
  it("canonicalises keras and lightning spellings", () => {
    expect(canonicalName("tensorflow.keras.layers.Dense")).toBe("keras.layers.Dense");
    expect(canonicalName("pytorch_lightning.Trainer")).toBe("lightning.pytorch.Trainer");
    expect(canonicalName("lightning.Trainer")).toBe("lightning.pytorch.Trainer");
    expect(canonicalName("lightning.fabric.Fabric")).toBe("lightning.fabric.Fabric");
    const m = imports("import tensorflow as tf");
    expect(resolveDotted("tf.keras.layers.Dense", m)?.name).toBe("keras.layers.Dense");
  });
  it("matches wildcard patterns by segment", () => {
    expect(nameMatches("mlflow.pytorch.log_model", "mlflow.*.log_model")).toBe(true);
    expect(nameMatches("mlflow.log_model", "mlflow.*.log_model")).toBe(false);
    expect(nameMatches("torch.optim.lr_scheduler.StepLR", "torch.**.StepLR")).toBe(true);
    expect(nameMatches("torch.StepLR", "torch.**.StepLR")).toBe(true);
    expect(nameMatches("pytorch_lightning.Trainer", "lightning.pytorch.Trainer")).toBe(false);
    expect(nameMatches("lightning.pytorch.Trainer", "pytorch_lightning.Trainer")).toBe(true);
  });
});

describe("star imports", () => {
  it("resolve calls to names the file neither imports nor defines, when there is one star import", async () => {
    const { withTree, compileQuery } = await import("../../src/engine/parser.js");
    const { INDEX_QUERY, PythonModel } = await import("../../src/engine/python/model.js");
    const q = await compileQuery(INDEX_QUERY);
    const names = (text: string) =>
      withTree(text, (tree) => new PythonModel(tree, text, q).calls.map((c) => c.name));
    expect(
      await names(
        "from sklearn.model_selection import *\n\ndef split(X):\n    return train_test_split(X)\n\nprint(len(split([1])))\n",
      ),
    ).toEqual(["sklearn.model_selection.train_test_split", "print", "len", "split"]);
    // Two star imports: which one binds a name cannot be told from the file.
    expect(await names("from a import *\nfrom b import *\nf(1)\n")).toEqual(["f"]);
    q.delete();
  });
});
