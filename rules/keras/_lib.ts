import type { Node } from "web-tree-sitter";
import { subclassesOf } from "../../src/engine/python/frameworks.js";
import { numberValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";

// Shared by the keras checks: which objects are Keras models, and what a model's output layer
// and loss are, followed through plain assignments in one scope. `tensorflow.keras.*` names are
// already canonicalised to `keras.*` by the engine.

const SEQUENTIAL = ["keras.Sequential", "keras.models.Sequential"];
const FUNCTIONAL = ["keras.Model", "keras.models.Model"];
const MODEL_SOURCES = [
  ...SEQUENTIAL,
  ...FUNCTIONAL,
  "keras.models.load_model",
  "keras.saving.load_model",
  "keras.models.clone_model",
  "keras.applications.**",
  "keras_hub.models.**",
  "keras_nlp.models.**",
];

export class Calls {
  // Keyed by start and end: `Dense(1)(x)` and its callee `Dense(1)` start at the same offset.
  private readonly bySpan = new Map<string, CallSite>();

  constructor(readonly py: PythonModel) {
    for (const c of py.calls) this.bySpan.set(`${c.start}:${c.end}`, c);
  }

  /** The CallSite of a `call` node. */
  of(node: Node | undefined | null): CallSite | undefined {
    return node?.type === "call" ? this.bySpan.get(`${node.startIndex}:${node.endIndex}`) : undefined;
  }

  /** A module-level `NAME = value` read from inside a function that never assigns NAME itself. */
  private moduleConstant(name: string, at: { start: number } | number) {
    const pos = typeof at === "number" ? at : at.start;
    const fn = this.py.functionAt(pos);
    if (!fn) return undefined;
    if (this.py.assignmentsIn(fn.node).some((a) => a.targets.includes(name))) return undefined;
    const top = this.py.assignments.filter((a) => a.targets.includes(name) && this.py.isModuleLevel(a));
    return top.length === 1 ? top[0] : undefined;
  }

  /**
   * The expression a name stands for at `at`: its last plain assignment in the same scope,
   * followed through aliases (`m = model`). Undefined when it cannot be told.
   */
  valueOf(node: Node | undefined, at: { start: number } | number): Node | undefined {
    let cur = node;
    for (let hops = 0; cur && hops < 4; hops++) {
      if (cur.type === "parenthesized_expression") {
        cur = cur.namedChildren[0] ?? undefined;
        continue;
      }
      if (cur.type !== "identifier") return cur;
      const a =
        this.py.lastAssignment(cur.text, typeof at === "number" ? at : at.start) ??
        this.moduleConstant(cur.text, at);
      if (a?.op !== "=" || a.targets.length !== 1 || a.targets[0] !== cur.text) return undefined;
      at = a.start;
      cur = a.value;
    }
    return undefined;
  }
}

/**
 * Whether `receiver` is a Keras model: built by a Keras constructor or loader, by a local
 * `keras.Model` subclass, by a local builder function that constructs or compiles one, or
 * compiled earlier in the same scope.
 */
export function isKerasModel(calls: Calls, receiver: Node | undefined, at: CallSite): boolean {
  if (kerasModelCall(calls, receiver, at) || compiledBefore(calls.py, receiver, at)) return true;
  const py = calls.py;
  const attr = receiver?.text.replace(/\s+/g, "");
  if (attr?.startsWith("self.")) {
    // `self.model` set up in another method of the same class.
    const cls = py.classAt(at);
    if (!cls) return false;
    if (py.callsIn(cls).some((c) => c.method === "compile" && c.receiver?.text.replace(/\s+/g, "") === attr))
      return true;
    return py
      .assignmentsIn(cls)
      .some((a) => a.targets.length === 1 && a.targets[0] === attr && builtByKeras(calls, calls.of(a.value)));
  }
  return builtByKeras(calls, calls.of(calls.valueOf(receiver, at)));
}

/** A Keras constructor/loader call, or a call of a local function that builds or compiles a model. */
function builtByKeras(calls: Calls, call: CallSite | undefined): boolean {
  if (!call?.name) return false;
  if (call.imported) return call.is(...MODEL_SOURCES);
  if (call.callee.type !== "identifier") return false;
  const builder = calls.py.functions.find((f) => f.name === call.name && !f.cls);
  return (
    builder !== undefined &&
    calls.py
      .callsIn(builder.body)
      .some((c) => (c.imported && c.is(...MODEL_SOURCES)) || c.method === "compile")
  );
}

/**
 * What `self.model` holds at `at`: its last assignment earlier in the same method, or else its only
 * assignment in the class.
 */
function selfAttributeValue(calls: Calls, receiver: Node, at: CallSite): Node | undefined {
  const py = calls.py;
  const attr = receiver.text.replace(/\s+/g, "");
  if (!/^self\.\w+$/.test(attr)) return undefined;
  const cls = py.classAt(at);
  if (!cls) return undefined;
  const assigns = py
    .assignmentsIn(cls)
    .filter((a) => a.op === "=" && a.targets.length === 1 && a.targets[0] === attr);
  const fn = py.functionAt(at);
  const before = assigns.filter((a) => a.start < at.start && py.functionAt(a) === fn);
  const chosen =
    before.length > 0 ? before[before.length - 1] : assigns.length === 1 ? assigns[0] : undefined;
  return chosen?.value;
}

/** The model-building call a receiver (`model` in `model.fit(...)`) comes from, if it is a Keras model. */
export function kerasModelCall(calls: Calls, receiver: Node | undefined, at: CallSite): CallSite | undefined {
  const value =
    receiver?.type === "attribute" ? selfAttributeValue(calls, receiver, at) : calls.valueOf(receiver, at);
  const call = calls.of(value);
  if (call?.imported && call.is(...MODEL_SOURCES)) return call;
  if (!call?.name || call.imported || call.callee.type !== "identifier") return undefined;
  // A subclass of keras.Model defined in this file: `model = Net()`.
  if (subclassesOf(calls.py, FUNCTIONAL).some((c) => c.name === call.name)) return call;
  // `model = build_model()`, where the local builder returns the model it constructs.
  const builder = calls.py.functions.find((f) => f.name === call.name && !f.cls);
  const returns = builder?.body.descendantsOfType("return_statement") ?? [];
  if (returns.length !== 1 || !returns[0] || calls.py.functionAt(returns[0]) !== builder) return undefined;
  const returned = returns[0].namedChildren[0] ?? undefined;
  const built = calls.of(calls.valueOf(returned, returns[0].startIndex));
  return built?.imported && built.is(...MODEL_SOURCES) ? built : undefined;
}

/** True when `receiver` is compiled with `.compile(...)` in the same scope before `at`: a Keras model. */
function compiledBefore(py: PythonModel, receiver: Node | undefined, at: CallSite): boolean {
  const name = receiver?.text.replace(/\s+/g, "");
  if (!name) return false;
  const fn = py.functionAt(at);
  return py
    .methodCalls("compile")
    .some(
      (c) => c.start < at.start && c.receiver?.text.replace(/\s+/g, "") === name && py.functionAt(c) === fn,
    );
}

export type Activation = "softmax" | "sigmoid" | "linear";

const ACTIVATION_NAMES: Record<string, Activation> = {
  "keras.activations.softmax": "softmax",
  "keras.activations.sigmoid": "sigmoid",
  "keras.activations.linear": "linear",
  "tensorflow.nn.softmax": "softmax",
  "tensorflow.nn.sigmoid": "sigmoid",
  "tensorflow.math.sigmoid": "sigmoid",
  "tensorflow.sigmoid": "sigmoid",
  "keras.ops.softmax": "softmax",
  "keras.ops.sigmoid": "sigmoid",
};

function activationValue(py: PythonModel, node: Node | undefined): Activation | "other" | undefined {
  if (!node || node.type === "none") return "linear";
  if (node.type === "string") {
    const v = node.text.replace(/^[rbuRBU]*['"]|['"]$/g, "");
    if (v === "softmax" || v === "sigmoid" || v === "linear") return v;
    return "other";
  }
  const name = py.resolve(node);
  return name ? ACTIVATION_NAMES[name] : undefined;
}

/** What a layer call does to its output, when it can be told: softmax, sigmoid or nothing. */
export function layerActivation(py: PythonModel, layer: CallSite): Activation | undefined {
  if (!layer.imported) return undefined;
  if (layer.is("keras.layers.**.Softmax")) return "softmax";
  if (layer.is("keras.layers.**.Activation")) {
    const a = activationValue(py, layer.arg("activation", 0));
    return a === "other" ? undefined : a;
  }
  if (layer.is("keras.layers.**.Dense", "keras.layers.**.Conv1D", "keras.layers.**.Conv2D")) {
    if (layer.hasSplat) return undefined;
    const position = layer.is("keras.layers.**.Dense") ? 1 : undefined;
    const a = activationValue(py, layer.arg("activation", position));
    return a === "other" ? undefined : a;
  }
  return undefined;
}

/** The last layer of a Sequential or functional model built in this file. */
export function outputLayer(calls: Calls, model: CallSite): CallSite | undefined {
  const py = calls.py;
  if (model.is(...SEQUENTIAL)) {
    const list = calls.valueOf(model.arg("layers", 0), model);
    const fromList =
      list?.type === "list" ? list.namedChildren.filter((c) => c && c.type !== "comment").pop() : undefined;
    // `model = Sequential(); model.add(...)`: the last `add` in the same scope wins.
    const assignment = model.node.parent?.type === "assignment" ? model.node.parent : undefined;
    const name = assignment?.childForFieldName("left")?.text;
    const fn = py.functionAt(model);
    // Up to the next `name = ...` in the same scope: a file may build several models under one name.
    const next = name
      ? py.assignments.find((a) => a.start > model.end && a.targets.includes(name) && py.functionAt(a) === fn)
      : undefined;
    const until = next?.start ?? Number.POSITIVE_INFINITY;
    const adds = name
      ? py
          .methodCalls("add")
          .filter(
            (c) =>
              c.receiver?.text === name &&
              c.start > model.start &&
              c.start < until &&
              py.functionAt(c) === fn,
          )
      : [];
    const lastAdd = adds[adds.length - 1];
    // A layer added only under some condition may or may not be the last one.
    if (
      lastAdd &&
      py.ifs.some(
        (i) =>
          i.start <= lastAdd.start && lastAdd.end <= i.end && !(i.start <= model.start && model.end <= i.end),
      )
    )
      return undefined;
    const last = lastAdd ? lastAdd.args[0] : fromList;
    return calls.of(calls.valueOf(last ?? undefined, model));
  }
  if (model.is(...FUNCTIONAL)) {
    const outputs = calls.valueOf(model.arg("outputs", 1), model);
    // `layers.Dense(10)(x)`: the outer call applies the layer the inner call builds.
    const applied = calls.of(outputs);
    if (!applied) return undefined;
    if (applied.callee.type === "call") return calls.of(applied.callee);
    return undefined;
  }
  return subclassOutputLayer(calls, model);
}

/**
 * A local `keras.Model` subclass whose `call` ends in `return self.head(x)`: the layer assigned to
 * `self.head` (once) in the class.
 */
function subclassOutputLayer(calls: Calls, model: CallSite): CallSite | undefined {
  const py = calls.py;
  if (model.imported || model.callee.type !== "identifier") return undefined;
  const cls = subclassesOf(py, FUNCTIONAL).find((c) => c.name === model.name);
  const call = cls?.method("call");
  if (!cls || !call) return undefined;
  const returns = call.body
    .descendantsOfType("return_statement")
    .filter((r) => r && py.functionAt(r) === call);
  if (returns.length !== 1 || !returns[0]) return undefined;
  const applied = calls.of(returns[0].namedChildren[0] ?? undefined);
  const callee = applied?.callee.text.replace(/\s+/g, "");
  if (!applied || !callee || !/^self\.\w+$/.test(callee)) return undefined;
  const assigns = py
    .assignmentsIn(cls)
    .filter((a) => a.op === "=" && a.targets.length === 1 && a.targets[0] === callee);
  return assigns.length === 1 ? calls.of(assigns[0].value) : undefined;
}

export interface LossSpec {
  /** The node to report on: the loss constructor call, or the loss string. */
  node: Node;
  name: string;
  fromLogits: boolean;
  /** The loss constructor call, when the loss is built from a class. */
  call?: CallSite;
  /** The `from_logits=` value, when given. */
  logits?: Node;
}

const PROBABILITY_LOSSES = new Set([
  "categorical_crossentropy",
  "sparse_categorical_crossentropy",
  "binary_crossentropy",
  "categorical_focal_crossentropy",
  "binary_focal_crossentropy",
]);
const LOSS_CLASSES: Record<string, string> = {
  CategoricalCrossentropy: "categorical_crossentropy",
  SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
  BinaryCrossentropy: "binary_crossentropy",
  CategoricalFocalCrossentropy: "categorical_focal_crossentropy",
  BinaryFocalCrossentropy: "binary_focal_crossentropy",
};

/** The cross-entropy loss a `compile` call uses and whether it expects logits. */
export function compileLoss(calls: Calls, compile: CallSite): LossSpec | undefined {
  const py = calls.py;
  const given = compile.arg("loss", 1);
  const value = calls.valueOf(given, compile);
  if (!value) return undefined;
  if (value.type === "string") {
    const v = value.text.replace(/^[rbuRBU]*['"]|['"]$/g, "");
    return PROBABILITY_LOSSES.has(v) ? { node: value, name: v, fromLogits: false } : undefined;
  }
  const call = calls.of(value);
  if (call) {
    const cls = call.imported ? lossName(call.name) : undefined;
    const name = cls ? LOSS_CLASSES[cls] : undefined;
    if (!name || call.hasSplat) return undefined;
    const fl = call.keywords.get("from_logits");
    if (fl && fl.type !== "true" && fl.type !== "false") return undefined;
    return { node: call.node, name, fromLogits: fl?.type === "true", call, logits: fl };
  }
  // `loss=keras.losses.binary_crossentropy`: the function, with its default `from_logits=False`.
  const fname = lossName(py.resolve(value));
  if (fname && PROBABILITY_LOSSES.has(fname)) return { node: value, name: fname, fromLogits: false };
  return undefined;
}

/** `keras.losses.X` / `tensorflow.losses.X` → `X`. */
function lossName(name: string | undefined): string | undefined {
  const m = name ? /^(?:keras|tensorflow)\.losses\.(\w+)$/.exec(name) : null;
  return m?.[1];
}

const OTHER_FIT_LIBRARIES = [
  "torch",
  "lightning",
  "darts",
  "skorch",
  "fastai",
  "pytorch_tabnet",
  "neuralforecast",
  "gluonts",
  "autogluon",
];
const MODEL_NAME =
  /^(?:self\.)?(?:\w+_)?(?:model|net|network|clf|classifier|regressor|autoencoder|encoder|ae|vae|gan|cnn|rnn|lstm|mlp)(?:_?\d+)?$/i;

// Below this, a run is short enough that stopping early or keeping the best epoch matters little
// (keras-io's MNIST convnet trains 15 epochs and needs neither).
export const MANY_EPOCHS = 20;

// Keras callbacks that log, schedule or guard a run but neither stop it early nor keep the best weights.
const PASSIVE = [
  "TensorBoard",
  "CSVLogger",
  "ProgbarLogger",
  "History",
  "TerminateOnNaN",
  "RemoteMonitor",
  "LearningRateScheduler",
  "ReduceLROnPlateau",
];

/**
 * The names of the callbacks given when they are a list of only passive Keras callbacks (`[]`,
 * `None`, `[TensorBoard(log_dir)]`); undefined when any of them may stop the run or save the model.
 */
function passiveCallbacks(calls: Calls, node: Node, at: CallSite): string[] | undefined {
  const value = calls.valueOf(node, at) ?? node;
  if (value.type === "none") return [];
  if (value.type !== "list") return undefined;
  const names: string[] = [];
  for (const item of value.namedChildren) {
    const call = calls.of(calls.valueOf(item ?? undefined, at) ?? item);
    const last = call?.name?.split(".").pop() ?? "";
    if (!call?.imported || !call.name?.startsWith("keras.") || !PASSIVE.includes(last)) return undefined;
    names.push(last);
  }
  return names;
}

/** A Keras `fit(..., epochs=)` that `keras/fit-without-callbacks` reports. */
export interface FitWithoutCallbacks {
  fit: CallSite;
  receiver: Node;
  epochsNode: Node;
  /** The epoch count when it is a visible number. */
  epochs?: number;
  /** The passive callbacks given (`[]` when none). */
  passive: string[];
}

/**
 * The Keras `fit(..., epochs=)` calls of a file that run at least `MANY_EPOCHS` epochs (or a count
 * set elsewhere) with no callbacks, or only callbacks that log or schedule: the runs
 * `keras/fit-without-callbacks` reports. `general/no-model-checkpoint` leaves these to it, since
 * its message already names `ModelCheckpoint`.
 */
export function fitsWithoutCallbacks(calls: Calls): FitWithoutCallbacks[] {
  const py = calls.py;
  const fits = py.methodCalls("fit").filter((c) => c.keywords.has("epochs"));
  if (fits.length === 0 || !py.importsModule("keras", "tensorflow", "tf_keras")) return [];
  // A model built elsewhere (`model = build_model()` from another module) in a file that uses no
  // other deep-learning library that takes `fit(..., epochs=)`.
  const kerasOnly = !py.importsModule(...OTHER_FIT_LIBRARIES);
  const out: FitWithoutCallbacks[] = [];
  for (const fit of fits) {
    if (fit.hasSplat) continue;
    const given = fit.keywords.get("callbacks");
    const passive = given ? passiveCallbacks(calls, given, fit) : [];
    if (passive === undefined) continue;
    const receiver = fit.receiver;
    if (!receiver || !(isKerasModel(calls, receiver, fit) || (kerasOnly && MODEL_NAME.test(receiver.text))))
      continue;
    const epochsNode = fit.keywords.get("epochs")!;
    const epochs = numberValue(calls.valueOf(epochsNode, fit));
    if (epochs !== undefined && epochs < MANY_EPOCHS) continue;
    out.push({ fit, receiver, epochsNode, epochs, passive });
  }
  return out;
}
