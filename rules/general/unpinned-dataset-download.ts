import type { Node } from "web-tree-sitter";
import { literal, stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// Builders that read local files rather than a Hub dataset.
const LOCAL_BUILDERS =
  /^(csv|json|parquet|text|arrow|pandas|sql|imagefolder|audiofolder|videofolder|webdataset|generator|xml|spark)$/;
const DATA_FILE =
  /\.(csv|tsv|zip|gz|tgz|tar|bz2|xz|7z|parquet|jsonl?|npz|npy|pkl|pickle|h5|hdf5|arrow|feather|txt|xlsx?)(\?|#|$)/i;
const URL = /^(https?|ftp):\/\//i;
// A URL naming an immutable commit is already a pin.
const COMMIT_IN_URL = /[/@][0-9a-f]{40}([/?#]|$)/i;
const HASH_CHECK = /checksum|integrity|md5|sha1|sha256|sha512|hash/i;

/** The string an argument holds: a literal, an f-string's leading text, or a variable assigned one. */
function textOf(py: PythonModel, node: Node | undefined, at: CallSite): string | undefined {
  if (!node) return undefined;
  const s = stringValue(node);
  if (s !== undefined) return s;
  if (node.type === "string") {
    // An f-string: `f"{BASE_URL}/train.csv"` with `BASE_URL` a string constant reads as the whole URL;
    // any other interpolation ends the text that is known.
    const body = /^[A-Za-z]*("""|'''|"|')([\s\S]*)\1$/.exec(node.text)?.[2];
    if (body === undefined) return undefined;
    let out = "";
    for (const part of body.split(/(\{[^{}]*\})/)) {
      if (!part.startsWith("{")) {
        out += part;
        continue;
      }
      const name = /^\{\s*([A-Za-z_]\w*)\s*\}$/.exec(part)?.[1];
      const a = name
        ? py.assignments.find((x) => x.targets.length === 1 && x.targets[0] === name && py.isModuleLevel(x))
        : undefined;
      const value = a?.op === "=" && a.value ? stringValue(a.value) : undefined;
      if (value === undefined) return out;
      out += value;
    }
    return out;
  }
  // `BASE_URL + "train.csv"`: the URL is the left part, the file name the right.
  if (node.type === "binary_operator" && node.childForFieldName("operator")?.text === "+") {
    const left = textOf(py, node.childForFieldName("left") ?? undefined, at);
    const right = node.childForFieldName("right");
    const rest = right ? (stringValue(right) ?? "") : "";
    return left === undefined ? undefined : left + rest;
  }
  if (node.type !== "identifier") return undefined;
  const a =
    py.lastAssignment(node.text, at) ??
    py.assignments.find((x) => x.targets.includes(node.text) && py.isModuleLevel(x));
  return a?.op === "=" && a.targets.length === 1 && a.value?.type === "string"
    ? textOf(py, a.value, at)
    : undefined;
}

// Pretrained weights are not data: `inception_v3_weights_notop.h5`, `model.ckpt`.
const WEIGHTS_FILE = /(weights?|model|ckpt|checkpoint)[^/]*\.(h5|hdf5|pkl|pickle|npz)$/i;

function looksLikeData(path: string): boolean {
  return DATA_FILE.test(path) && !WEIGHTS_FILE.test(path);
}

// Raw downloads count only in files that handle data for ML: an install script's `wget` is not this.
const DATA_MODULES = [
  "numpy",
  "pandas",
  "polars",
  "torch",
  "torchvision",
  "torchaudio",
  "tensorflow",
  "keras",
  "sklearn",
  "datasets",
  "transformers",
  "jax",
  "lightgbm",
  "xgboost",
  "catboost",
  "lightning",
];

const PLAIN_FETCHES = [
  "urllib.request.urlretrieve",
  "requests.get",
  "httpx.get",
  "wget.download",
  "gdown.download",
];

// A checksum tool run from Python: `subprocess.run(["sha256sum", "-c", "data.sha256"])`.
const HASH_TOOL = /["'\s](sha\d*sum|shasum|md5sum|b2sum)\b/;

function hasHashCheck(py: PythonModel): boolean {
  return py.calls.some(
    (c) =>
      c.is("hashlib.*") ||
      (c.method !== undefined && HASH_CHECK.test(c.method)) ||
      HASH_TOOL.test(c.argsNode.text),
  );
}

/** `revision="main"`: a branch name, which follows upstream changes as much as no revision at all. */
function movingRevision(call: CallSite): string | undefined {
  const rev = stringValue(call.keywords.get("revision"));
  return rev !== undefined && /^(main|master|HEAD)$/.test(rev) ? rev : undefined;
}

// A download script that imports no ML library (only `urllib`, `requests`, `zipfile`) still fetches
// a dataset when the URL or the file it writes is a data file named as one: `data/train.zip`.
const DATASET_WORD = /data|corpus|train|test|valid|kaggle/i;

function namesDataset(py: PythonModel, call: CallSite): boolean {
  const where = [call.args[0] ?? call.keywords.get("url"), call.args[1] ?? call.keywords.get("filename")]
    .map((n) => textOf(py, n, call))
    .filter((t): t is string => t !== undefined);
  const path = (t: string) => t.split(/[?#]/)[0].replace(/^(https?|ftp):\/\/[^/]+/i, "");
  return where.some((t) => looksLikeData(path(t))) && where.some((t) => DATASET_WORD.test(path(t)));
}

/** Why this call downloads data without a pin, or undefined. `raw` findings give way to a hash check. */
function unpinned(py: PythonModel, call: CallSite): { why: string; raw: boolean } | undefined {
  if (call.hasSplat) return undefined;
  if (call.is("datasets.load_dataset")) {
    const branch = movingRevision(call);
    if (call.keywords.has("revision") && !branch) return undefined;
    const path = stringValue(call.arg("path", 0));
    if (
      !path ||
      LOCAL_BUILDERS.test(path) ||
      /^[./~]|^[A-Za-z]:\\/.test(path) ||
      call.keywords.has("data_dir")
    )
      return undefined;
    return {
      why: branch
        ? `\`load_dataset("${path}", revision="${branch}")\` names a branch, which moves, not a commit or tag`
        : `\`load_dataset("${path}")\` without \`revision=\` reads whatever the Hub repository holds today`,
      raw: false,
    };
  }
  if (call.is("huggingface_hub.hf_hub_download", "huggingface_hub.snapshot_download")) {
    if (
      stringValue(call.keywords.get("repo_type")) !== "dataset" ||
      (call.keywords.has("revision") && !movingRevision(call))
    )
      return undefined;
    return {
      why: `\`${call.method}\` of a dataset without \`revision=\` follows the moving main branch`,
      raw: false,
    };
  }
  if (call.is("keras.utils.get_file", "keras.utils.data_utils.get_file")) {
    if (call.keywords.has("file_hash") || call.keywords.has("md5_hash") || call.args.length >= 4)
      return undefined;
    return { why: "`get_file` without `file_hash=` accepts whatever the URL serves", raw: false };
  }
  if (call.is("sklearn.datasets.fetch_openml")) {
    if (call.keywords.has("version") || call.keywords.has("data_id") || !call.arg("name", 0))
      return undefined;
    return {
      why: "`fetch_openml` by name without `version=` picks the currently active version",
      raw: false,
    };
  }
  if (call.is("torch.hub.download_url_to_file")) {
    const hash = call.arg("hash_prefix", 2);
    if (hash && literal(hash)?.kind !== "none") return undefined;
    return { why: "`download_url_to_file` without `hash_prefix=` does not verify the file", raw: false };
  }
  if (
    call.is(
      "torchvision.datasets.utils.download_url",
      "torchvision.datasets.utils.download_and_extract_archive",
    )
  ) {
    const md5 = call.arg("md5", call.method === "download_url" ? 3 : 4);
    if (md5 && literal(md5)?.kind !== "none") return undefined;
    return { why: `\`${call.method}\` without \`md5=\` does not verify the file`, raw: false };
  }
  const url = textOf(py, call.args[0] ?? call.keywords.get("url"), call);
  const pinnedUrl = url !== undefined && COMMIT_IN_URL.test(url);
  if (call.is("urllib.request.urlretrieve", "wget.download", "gdown.download")) {
    return pinnedUrl
      ? undefined
      : { why: `\`${call.method}\` downloads the file with no checksum`, raw: true };
  }
  if (call.is("requests.get", "httpx.get")) {
    if (!url || !URL.test(url) || !looksLikeData(url.split("?")[0]) || pinnedUrl) return undefined;
    return { why: "the data file is downloaded with no checksum", raw: true };
  }
  if (call.is("pandas.read_*", "polars.read_*")) {
    if (!url || !URL.test(url) || pinnedUrl) return undefined;
    return {
      why: `\`${call.method}\` reads straight from a URL, so the data is whatever the server returns`,
      raw: true,
    };
  }
  if (call.is("os.system", "subprocess.*")) {
    const cmd = call.args[0]?.text ?? "";
    // wget fetches files; curl also talks to APIs, so it counts only when it saves to a file.
    const fetches =
      /\bwget\b/.test(cmd) || (/\bcurl\b/.test(cmd) && /\s-[a-zA-Z]*[oO]\b|--output|--remote-name/.test(cmd));
    if (!fetches || COMMIT_IN_URL.test(cmd)) return undefined;
    // Only commands that fetch something that looks like data (`yum install wget` fetches nothing,
    // a `.tar.gz` of a tool or a `.jar` is not a dataset in a file that does no ML).
    const urls = cmd.match(/\b(?:https?|ftp):\/\/[^\s"'\\]+/gi) ?? [];
    const arg = call.args[0];
    // No URL written out: it comes from a variable or an interpolation, so it cannot be told apart.
    const computed = arg !== undefined && (arg.type !== "string" || /[{%]/.test(cmd));
    if (urls.length === 0 ? !computed : !urls.some((u) => looksLikeData(u.split("?")[0]))) return undefined;
    return { why: "the shell download has no checksum", raw: true };
  }
  return undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  let hashed: boolean | undefined;
  let mlFile: boolean | undefined;
  for (const call of py.calls) {
    if (!call.imported) continue;
    const found = unpinned(py, call);
    if (!found) continue;
    if (found.raw) {
      mlFile ??= py.importsModule(...DATA_MODULES);
      if (!mlFile && !(call.is(...PLAIN_FETCHES) && namesDataset(py, call))) continue;
      hashed ??= hasHashCheck(py);
      if (hashed) continue;
    }
    ctx.report(call, {
      message:
        `Data is fetched at run time without a version or checksum pin: ${found.why}. If the upstream data changes, ` +
        "results change silently and earlier runs cannot be reproduced. Pin it: `load_dataset(..., revision=<commit>)`, " +
        "`get_file(..., file_hash=...)`, or check a SHA-256 of the downloaded file (or version the data with DVC).",
    });
  }
});
