import { anyNameMatches } from "../../src/engine/names.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import {
  constructorCall,
  methodLine,
  methodSite,
  onTriggerLine,
  selfAttributeCall,
  TOY_BALANCED_DATASETS,
} from "./_lib.js";

// Models whose result depends on the units of each feature: distances, margins, penalties,
// variance directions, gradient steps. Plain least squares and trees are scale-invariant.
const SCALE_SENSITIVE = [
  "sklearn.svm.*",
  "sklearn.neighbors.KNeighbors*",
  "sklearn.neighbors.RadiusNeighbors*",
  "sklearn.neighbors.NearestNeighbors",
  "sklearn.cluster.KMeans",
  "sklearn.cluster.MiniBatchKMeans",
  "sklearn.decomposition.PCA",
  "sklearn.decomposition.KernelPCA",
  "sklearn.linear_model.LogisticRegression*",
  "sklearn.linear_model.Ridge*",
  "sklearn.linear_model.Lasso*",
  "sklearn.linear_model.ElasticNet*",
  "sklearn.linear_model.SGD*",
  "sklearn.linear_model.Perceptron",
  "sklearn.linear_model.PassiveAggressive*",
  "sklearn.linear_model.BayesianRidge",
  "sklearn.neural_network.MLP*",
];
const PIPELINES = ["sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline"];
// Scaling done some other way, or features that already share a scale (text vectors, pixels).
const ALREADY_SCALED = [
  "sklearn.preprocessing.*",
  "sklearn.compose.*",
  "sklearn.feature_extraction.text.*",
  ...TOY_BALANCED_DATASETS,
];
// From `sklearn.preprocessing` but no scaling of the features: label encoders work on `y`, and
// polynomial features widen the spread of scales rather than removing it.
const NOT_SCALING = [
  "sklearn.preprocessing.LabelEncoder",
  "sklearn.preprocessing.LabelBinarizer",
  "sklearn.preprocessing.MultiLabelBinarizer",
  "sklearn.preprocessing.label_binarize",
  "sklearn.preprocessing.PolynomialFeatures",
];
const SCALING_TEXT =
  /scal|normali[sz]|standardi[sz]|\.std\s*\(|\/\s*255|-\s*[\w.]*(mean|mu|min)\w*(\(\))?\s*\)\s*\/|\/\s*[\w.]*(std|sigma|max|norm|range)\b/i;
const FIT = ["fit", "fit_transform", "fit_predict"];
// Learned embeddings share one scale across their dimensions: nothing to standardise.
const EMBEDDING_LIBRARIES = ["sentence_transformers", "InstructorEmbedding", "fasttext", "gensim"];
const IMAGE_DATASET = /mnist|fashion|cifar|digits|faces/i;
const EMBEDDING_NAME = /emb(ed|edding)?s?\b|embedding|encoding|latent|vectors?\b/i;

// Searches and wrappers that fit the estimator they are given: `GridSearchCV(SVC(), grid).fit(X, y)`.
const WRAPPERS = [
  "sklearn.model_selection.GridSearchCV",
  "sklearn.model_selection.RandomizedSearchCV",
  "sklearn.model_selection.HalvingGridSearchCV",
  "sklearn.model_selection.HalvingRandomSearchCV",
  "sklearn.multiclass.OneVsRestClassifier",
  "sklearn.multiclass.OneVsOneClassifier",
  "sklearn.multioutput.MultiOutputClassifier",
  "sklearn.multioutput.MultiOutputRegressor",
];

/** The scale-sensitive model a fit trains, looking inside a pipeline's steps and a search's estimator. */
function sensitiveModel(py: PythonModel, fit: CallSite): CallSite | undefined {
  let built = constructorCall(py, fit.receiver, fit) ?? selfAttributeCall(py, fit.receiver, fit);
  if (built?.is(...WRAPPERS)) built = constructorCall(py, built.arg("estimator", 0), built);
  if (!built) return undefined;
  if (built.is(...SCALE_SENSITIVE)) return built;
  if (!built.is(...PIPELINES)) return undefined;
  return py
    .within(py.calls, built)
    .find(
      (c) =>
        c !== built &&
        c.is(...SCALE_SENSITIVE) &&
        !py.within(py.calls, c).some((d) => d !== c && d.is(...PIPELINES)),
    );
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const fits = py
    .methodCalls(...FIT)
    .filter((c) => ctx.isAdded(methodLine(c)) && onTriggerLine(ctx, methodLine(c)));
  if (fits.length === 0) return;
  if (
    py.calls.some((c) => anyNameMatches(c.name, ALREADY_SCALED) && !anyNameMatches(c.name, NOT_SCALING)) ||
    // Code only: a comment saying "not scaled" is no scaling.
    SCALING_TEXT.test(ctx.text.replace(/(^|\s)#[^\n]*/g, "$1"))
  )
    return;
  if (py.importsModule(...EMBEDDING_LIBRARIES)) return;
  // Image pixels share one scale (faces, MNIST-style digits fetched from OpenML).
  if (
    py.calls.some(
      (c) =>
        c.is("sklearn.datasets.fetch_olivetti_faces", "sklearn.datasets.fetch_lfw_*") ||
        (c.is("sklearn.datasets.fetch_openml") && IMAGE_DATASET.test(c.arg("name", 0)?.text ?? "")),
    )
  )
    return;
  for (const fit of fits) {
    const data = fit.arg("X", 0);
    if (data && EMBEDDING_NAME.test(data.text)) continue;
    const model = sensitiveModel(py, fit);
    if (!model) continue;
    const cls = model.name?.split(".").pop();
    ctx.report(methodSite(fit), {
      message:
        `${cls} is fitted on features that are never scaled in this file or its pipeline. It depends on the ` +
        "units of each feature (distances, margins, penalties or variance), so a feature measured in thousands " +
        "outweighs one measured in fractions. Put a scaler in front, e.g. " +
        `\`make_pipeline(StandardScaler(), ${cls}(...))\`, fitted on the training data only.`,
    });
    return;
  }
});
