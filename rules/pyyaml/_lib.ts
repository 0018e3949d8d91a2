import type { Node } from "web-tree-sitter";
import { type Document, isMap, isPair, isScalar, isSeq, type Scalar, visit } from "yaml";
import type { CallSite, FunctionDef, PythonModel } from "../../src/engine/python/model.js";

// Shared by the pyyaml checks: which calls load YAML, where the loaded value comes from, and what
// the code does with it next.

const LOAD_FUNCTIONS = [
  "load",
  "safe_load",
  "full_load",
  "unsafe_load",
  "load_all",
  "safe_load_all",
  "full_load_all",
  "unsafe_load_all",
];
const SAFE_LOADERS = new Set([
  "yaml.SafeLoader",
  "yaml.CSafeLoader",
  "yaml.BaseLoader",
  "yaml.CBaseLoader",
  "yaml.loader.SafeLoader",
  "yaml.loader.BaseLoader",
  "yaml.cyaml.CSafeLoader",
  "yaml.cyaml.CBaseLoader",
]);

/** Calls of PyYAML's load functions, through any import spelling. */
export function yamlLoads(py: PythonModel): CallSite[] {
  return py.callsTo(...LOAD_FUNCTIONS.map((f) => `yaml.${f}`)).filter((c) => c.imported);
}

/** `yaml.safe_load(...)`, or `yaml.load(...)` with a safe `Loader`: one document as plain data. */
export function isSafeSingleLoad(call: CallSite, py: PythonModel): boolean {
  if (call.name === "yaml.safe_load") return true;
  if (call.name !== "yaml.load") return false;
  const loader = call.arg("Loader", 1);
  const name = loader ? py.resolve(loader) : undefined;
  return name !== undefined && SAFE_LOADERS.has(name);
}

const UNSAFE_LOADER_CLASSES = [
  "Loader",
  "UnsafeLoader",
  "FullLoader",
  "CLoader",
  "CUnsafeLoader",
  "CFullLoader",
].flatMap((l) => [`yaml.${l}`, l.startsWith("C") ? `yaml.cyaml.${l}` : `yaml.loader.${l}`]);

/**
 * True when `pyyaml/unsafe-load` reports this PyYAML call: `yaml.load`/`load_all` with no `Loader`
 * (and no `**kwargs` that may carry one) or with an object-building one, `unsafe_load*`, `full_load*`.
 */
export function flaggedByUnsafeLoad(call: CallSite, py: PythonModel): boolean {
  if (!call.imported) return false;
  if (call.is("yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load", "yaml.full_load_all"))
    return true;
  if (!call.is("yaml.load", "yaml.load_all")) return false;
  const loader = call.arg("Loader", 1);
  if (!loader) return !call.hasSplat;
  const name = py.resolve(loader);
  return name !== undefined && UNSAFE_LOADER_CLASSES.includes(name);
}

/** The stream or text a load call reads. */
export function loadedStream(call: CallSite): Node | undefined {
  return call.arg("stream", 0);
}

// ---- where a value comes from ------------------------------------------------------------------

export type Source = { kind: "network" | "web" | "argv"; what: string };

const NETWORK_CALLS = [
  "requests.**",
  "httpx.**",
  "urllib3.**",
  "aiohttp.**",
  "urllib.request.urlopen",
  "urllib.urlopen",
  "urllib2.urlopen",
  "six.moves.urllib.request.urlopen",
];
// Wrappers that hand on what their first argument names: a path, or text.
const PASS_THROUGH = [
  "open",
  "io.open",
  "codecs.open",
  "pathlib.Path",
  "pathlib.PurePath",
  "os.path.join",
  "os.path.abspath",
  "os.path.expanduser",
  "os.path.realpath",
  "os.path.normpath",
  "str",
  "io.StringIO",
  "io.BytesIO",
];
const WEB_REQUEST_TYPES = [
  "fastapi.Request",
  "fastapi.UploadFile",
  "starlette.requests.Request",
  "starlette.datastructures.UploadFile",
  "django.http.HttpRequest",
  "aiohttp.web.Request",
];

const ROUTE_DECORATOR = /\.(?:get|post|put|patch|delete|api_route|route|websocket)$/;

/** A FastAPI/Flask/Starlette route handler: its parameters come from the request. */
function isRouteHandler(py: PythonModel, fn: FunctionDef): boolean {
  if (!py.importsModule("fastapi", "flask", "starlette")) return false;
  return fn.decoratorNodes.some((d) => {
    const expr = d.namedChildren[0];
    const callee = expr?.type === "call" ? expr.childForFieldName("function") : undefined;
    return callee !== undefined && callee !== null && ROUTE_DECORATOR.test(callee.text.replace(/\s+/g, ""));
  });
}

export class Sources {
  private readonly callByStart = new Map<string, CallSite>();

  constructor(private readonly py: PythonModel) {
    for (const c of py.calls) this.callByStart.set(`${c.start}:${c.end}`, c);
  }

  /** Where `node`'s value comes from, when it is a network response, web request data or `sys.argv`. */
  of(node: Node | undefined, depth = 0): Source | undefined {
    if (!node || depth > 8) return undefined;
    const py = this.py;
    switch (node.type) {
      case "parenthesized_expression":
      case "await":
        return this.of(node.namedChildren[0] ?? undefined, depth + 1);
      case "subscript": {
        const value = node.childForFieldName("value") ?? undefined;
        if (value && py.resolve(value) === "sys.argv") return { kind: "argv", what: "`sys.argv`" };
        return this.of(value, depth + 1);
      }
      case "attribute": {
        const full = py.resolve(node);
        if (full === "sys.argv") return { kind: "argv", what: "`sys.argv`" };
        if (full?.startsWith("flask.request.")) return { kind: "web", what: "the web request" };
        return this.of(node.childForFieldName("object") ?? undefined, depth + 1);
      }
      case "call": {
        const call = this.callByStart.get(`${node.startIndex}:${node.endIndex}`);
        if (!call) return undefined;
        if (call.imported && call.is(...NETWORK_CALLS))
          return { kind: "network", what: "a network response" };
        if (call.name?.startsWith("flask.request.")) return { kind: "web", what: "the web request" };
        if (call.callee.type === "attribute" && !call.imported) {
          // `resp.read()`, `r.content.decode()`, `session.get(url)`, `Path(p).read_text()`.
          return this.of(call.receiver, depth + 1);
        }
        if (call.is(...PASS_THROUGH)) {
          for (const a of call.args) {
            const s = this.of(a, depth + 1);
            if (s) return s;
          }
        }
        return undefined;
      }
      case "binary_operator":
        return (
          this.of(node.childForFieldName("left") ?? undefined, depth + 1) ??
          this.of(node.childForFieldName("right") ?? undefined, depth + 1)
        );
      case "identifier":
        return this.ofName(node, depth);
      default:
        return undefined;
    }
  }

  private ofName(node: Node, depth: number): Source | undefined {
    const py = this.py;
    const name = node.text;
    const fn = py.functionAt(node);
    const param = fn?.params.find((p) => p.name === name);
    if (param) {
      const type = param.annotation
        ? py.resolve(param.annotation.text.replace(/^Optional\[(.*)\]$/, "$1"))
        : undefined;
      if (type && WEB_REQUEST_TYPES.includes(type)) return { kind: "web", what: "the web request" };
      // A Django view's `request` (`def upload(request): ... request.body`).
      if (
        !type &&
        name === "request" &&
        fn?.params[0]?.name === "request" &&
        py.importsModule("django", "rest_framework")
      )
        return { kind: "web", what: "the web request" };
      // A path, query or body parameter of a web route (`@app.post("/read/{fname}")`), unless a
      // dependency provides it.
      if (fn && isRouteHandler(py, fn) && !/^Depends\s*\(|\.Depends\s*\(/.test(param.default?.text ?? ""))
        return { kind: "web", what: "the web request" };
      return undefined;
    }
    for (const w of py.withsAt(node)) {
      if (fn && py.functionAt(w) !== fn) continue;
      const item = w.items.find((i) => i.alias === name);
      if (item) return this.of(item.value, depth + 1);
    }
    const assign = py.lastAssignment(name, node);
    if (assign?.targets.length !== 1) return undefined;
    return this.of(assign.value, depth + 1);
  }
}

// ---- what happens to a loaded value ------------------------------------------------------------

export type Fate =
  | { kind: "validated" }
  | { kind: "raw"; at: Node }
  | { kind: "passed" }
  | { kind: "returned" }
  | { kind: "unknown" };

// Containers that give attribute access but check nothing.
const PLAIN_WRAPPERS = [
  "dict",
  "types.SimpleNamespace",
  "argparse.Namespace",
  "easydict.EasyDict",
  "addict.Dict",
  "munch.Munch",
  "munch.munchify",
  "munch.DefaultMunch.fromDict",
  "box.Box",
  "dotmap.DotMap",
  "ml_collections.ConfigDict",
  "ml_collections.config_dict.ConfigDict",
  "omegaconf.OmegaConf.create",
  "collections.OrderedDict",
  "collections.ChainMap",
  "copy.deepcopy",
  "copy.copy",
];
const PLAIN_WRAPPER_NAMES =
  /^(EasyDict|edict|AttrDict|AttributeDict|DotDict|Dotdict|DictConfig|Namespace|SimpleNamespace|OrderedDict|DefaultMunch|Munch|Box|DotMap|ConfigDict|Dict)$/;
const VALIDATING_NAME =
  /validat|parse_obj|parse_raw|structure|from_dict|from_mapping|check_config|check_schema|^convert$/i;
const SCHEMA_CLASS =
  /(Config|Cfg|Conf|Settings|Schema|Params|Hparams|HParams|Hyperparameters|Options|Spec|Args|Arguments)$/;
const RAW_METHODS = new Set(["get", "setdefault", "pop", "items", "keys", "values"]);

const DISPLAY_METHODS =
  /^(?:print|pprint|pp|debug|info|warning|warn|error|exception|critical|log|echo|secho)$/;

/** `print(cfg)`, `pprint.pprint(cfg)`, `logger.info(cfg)`, `typer.echo(cfg)`: shown, not used. */
function isDisplay(call: CallSite): boolean {
  if (call.name === "print" || call.is("pprint.*", "logging.*")) return true;
  return call.callee.type === "attribute" && DISPLAY_METHODS.test(call.method ?? "");
}

export class Fates {
  private readonly callByStart = new Map<string, CallSite>();
  private readonly structured: boolean;

  constructor(private readonly py: PythonModel) {
    for (const c of py.calls) this.callByStart.set(`${c.start}:${c.end}`, c);
    this.structured = py.callsTo("omegaconf.OmegaConf.structured").length > 0;
  }

  /**
   * What the code does with the value a load call returns: validates it, reads it raw, passes it on.
   * A value returned from a loader helper (`def load_config(p): return yaml.safe_load(...)`) is
   * followed into the helper's callers in the same file.
   */
  ofLoad(call: CallSite): Fate {
    const fate = this.ofValue(call.node);
    if (fate.kind !== "returned") return fate;
    return this.ofCallers(call.node, 0) ?? fate;
  }

  private ofValue(node: Node): Fate {
    const direct = this.classify(node, 0);
    if (direct.fate) return direct.fate;
    if (!direct.target) return { kind: "unknown" };
    return this.ofName(direct.target, direct.assignment!);
  }

  /** The fate of what the function around `node` returns, over its calls in this file. */
  private ofCallers(node: Node, depth: number): Fate | undefined {
    const py = this.py;
    const fn = py.functionAt(node);
    if (!fn || depth > 2) return undefined;
    const callers = py.calls.filter((c) => {
      if (c.start >= fn.start && c.end <= fn.end) return false;
      if (fn.isMethod)
        return (
          c.callee.type === "attribute" &&
          c.method === fn.name &&
          /^(self|cls)$/.test(c.receiver?.text ?? "") &&
          py.classAt(c) === fn.cls
        );
      return c.callee.type === "identifier" && c.callee.text === fn.name && !c.imported;
    });
    if (callers.length === 0) return undefined;
    let passed = false;
    let validated = false;
    let returned = false;
    for (const c of callers) {
      let fate = this.ofValue(c.node);
      if (fate.kind === "returned") fate = this.ofCallers(c.node, depth + 1) ?? fate;
      if (fate.kind === "raw") return fate;
      if (fate.kind === "passed") passed = true;
      else if (fate.kind === "validated") validated = true;
      else if (fate.kind === "returned") returned = true;
    }
    if (passed) return { kind: "passed" };
    if (validated) return { kind: "validated" };
    if (returned) return { kind: "returned" };
    return { kind: "unknown" };
  }

  /** Follows the name a loaded value was assigned to (and its aliases) through its scope. */
  private ofName(first: string, assignment: Node): Fate {
    const py = this.py;
    const fn = py.functionAt(assignment);
    const isAttr = first.startsWith("self.");
    const scope = isAttr
      ? (py.classAt(assignment)?.node ?? py.tree.rootNode)
      : fn
        ? fn.body
        : py.tree.rootNode;
    const names = [first];
    const seen = new Set(names);
    let raw: Node | undefined;
    let passed = false;
    let returned = false;
    for (let i = 0; i < names.length && i < 6; i++) {
      const name = names[i];
      const attr = name.includes(".");
      const from = i === 0 ? assignment.endPosition : scope.startPosition;
      const nodes = scope.descendantsOfType(attr ? "attribute" : "identifier", from, scope.endPosition);
      for (const n of nodes) {
        if (!n || n.text !== name || n.startIndex < assignment.endIndex) continue;
        if (attr && n.text.replace(/\s+/g, "") !== name) continue;
        const r = this.classify(n, 0);
        if (r.fate?.kind === "validated") return r.fate;
        if (r.fate?.kind === "raw") raw ??= r.fate.at;
        else if (r.fate?.kind === "passed") passed = true;
        else if (r.fate?.kind === "returned") returned = true;
        else if (r.target && r.alias && !seen.has(r.target)) {
          seen.add(r.target);
          names.push(r.target);
        }
      }
    }
    if (raw) return { kind: "raw", at: raw };
    if (passed) return { kind: "passed" };
    if (returned) return { kind: "returned" };
    return { kind: "unknown" };
  }

  /**
   * Looks at the expression around `node` (a load call or a use of the loaded name). Returns a fate
   * when it decides one, or the target of an assignment to keep following.
   */
  private classify(
    node: Node,
    depth: number,
  ): { fate?: Fate; target?: string; assignment?: Node; alias?: boolean } {
    if (depth > 4) return {};
    let cur = node;
    let parent = cur.parent;
    // `(load(f))`, `load(f) or {}`.
    while (
      parent &&
      (parent.type === "parenthesized_expression" ||
        (parent.type === "boolean_operator" && parent.childForFieldName("left")?.id === cur.id))
    ) {
      cur = parent;
      parent = cur.parent;
    }
    if (!parent) return {};
    switch (parent.type) {
      case "subscript": {
        if (parent.childForFieldName("value")?.id !== cur.id) return {};
        // `cfg["checkpoint"] = args.checkpoint` fills a key in; it reads nothing.
        const up1 = parent.parent;
        if (
          (up1?.type === "assignment" || up1?.type === "augmented_assignment") &&
          up1.childForFieldName("left")?.id === parent.id
        )
          return {};
        // A section validated on its own (`ModelConfig(**cfg["model"])`) counts as validation.
        const up = this.classify(parent, depth + 1);
        return up.fate?.kind === "validated" ? up : { fate: { kind: "raw", at: parent } };
      }
      case "attribute": {
        if (parent.childForFieldName("object")?.id !== cur.id) return {};
        const method = parent.childForFieldName("attribute")?.text ?? "";
        const call = parent.parent?.type === "call" ? parent.parent : undefined;
        if (!call || !RAW_METHODS.has(method)) return {};
        const up = method === "get" ? this.classify(call, depth + 1) : {};
        return up.fate?.kind === "validated" ? up : { fate: { kind: "raw", at: call } };
      }
      case "argument_list":
      case "keyword_argument":
      case "dictionary_splat":
      case "list_splat": {
        const args = parent.type === "argument_list" ? parent : parent.parent;
        const callNode = args?.type === "argument_list" ? args.parent : undefined;
        const call =
          callNode?.type === "call"
            ? this.callByStart.get(`${callNode.startIndex}:${callNode.endIndex}`)
            : undefined;
        if (!call) return {};
        // Printed or logged for a person to read: nothing acts on the keys.
        if (isDisplay(call)) return {};
        return {
          fate: this.isValidator(call, parent.type === "dictionary_splat")
            ? { kind: "validated" }
            : { kind: "passed" },
        };
      }
      case "return_statement":
        return { fate: { kind: "returned" } };
      case "assignment": {
        if (parent.childForFieldName("right")?.id !== cur.id) return {};
        const left = parent.childForFieldName("left");
        const target = left?.text.replace(/\s+/g, "");
        if (!target || !/^(self\.)?[A-Za-z_]\w*$/.test(target)) return {};
        return { target, assignment: parent, alias: node.type !== "call" };
      }
      default:
        return {};
    }
  }

  private isValidator(call: CallSite, splat: boolean): boolean {
    const name = call.name ?? "";
    const last = call.method ?? name.split(".").pop() ?? "";
    if (call.is(...PLAIN_WRAPPERS) || PLAIN_WRAPPER_NAMES.test(last)) return false;
    if (VALIDATING_NAME.test(last)) return true;
    if (call.is("omegaconf.OmegaConf.merge", "omegaconf.OmegaConf.structured")) return this.structured;
    // A class built from the mapping: `TrainConfig(**cfg)` checks the keys against its fields.
    if (/^[A-Z]/.test(last) && (splat || SCHEMA_CLASS.test(last))) return true;
    // `TypeAdapter(Cfg).validate_python(cfg)`, `schema.load(cfg)` with marshmallow.
    return false;
  }
}

// ---- YAML files ----------------------------------------------------------------------------------

/**
 * YAML files that tools other than PyYAML read (CI, containers, Kubernetes, conda, DVC): PyYAML's
 * quirks do not apply to them, and their nesting is dictated by the tool.
 */
export function readByOtherTool(path: string, docs: readonly Document.Parsed[]): boolean {
  const p = path.toLowerCase();
  const base = p.slice(p.lastIndexOf("/") + 1);
  if (
    /(^|\/)\.(github|gitlab|circleci|buildkite|azure-pipelines|tekton|woodpecker|drone)\//.test(p) ||
    /(^|\/)(charts|helm|k8s|kubernetes|manifests|deploy|deployment|\.kube)\//.test(p) ||
    /(^|\/)(ansible|playbooks|roles|group_vars|host_vars|inventory|inventories)\//.test(p)
  )
    return true;
  if (
    /^(\.gitlab-ci|\.travis|appveyor|azure-pipelines|bitbucket-pipelines|cloudbuild|codecov|\.codecov|dependabot|\.pre-commit-config|\.pre-commit-hooks|mkdocs|\.readthedocs|readthedocs|environment|conda|meta|dvc|dvc\.lock|chart|values|action|\.gitpod|netlify|serverless|skaffold|kustomization|_config|\.yamllint|\.clang-format|\.clang-tidy|pubspec|docker-compose[\w.-]*|compose[\w.-]*|catalog-info|openapi[\w.-]*|swagger[\w.-]*|pnpm-lock|\.?mergify|renovate|codeowners|\.coderabbit|citation)\.ya?ml$/.test(
      base,
    )
  )
    return true;
  for (const doc of docs) {
    const c = doc.contents as { get?: (k: string) => unknown; has?: (k: string) => boolean } | null;
    // Ansible playbooks: a list of plays, each naming its `hosts`.
    if (isSeq(c) && c.items.some((i) => isMap(i) && (i.has("hosts") || i.has("import_playbook"))))
      return true;
    if (!c || typeof c.has !== "function") continue;
    // GitHub Actions workflows kept outside `.github/` (workflow templates, copies in docs).
    if (c.has("jobs") && c.has("on")) return true;
    // Compose files under any name: `services:` whose entries name an `image` or a `build`.
    const services = c.get?.("services");
    if (
      isMap(services) &&
      services.items.some((i) => isMap(i.value) && (i.value.has("image") || i.value.has("build")))
    )
      return true;
    // Ansible inventories: `all:` with its `hosts` and `children`.
    const all = c.get?.("all");
    if (isMap(all) && (all.has("hosts") || all.has("children"))) return true;
    if (c.has("AWSTemplateFormatVersion") || (c.has("Resources") && c.has("Outputs"))) return true; // CloudFormation
    if (c.has("apiVersion") && c.has("kind")) return true; // Kubernetes-style manifests
    if (c.has("openapi") || c.has("swagger")) return true;
    if (c.has("runtime") && (c.has("handlers") || c.has("entrypoint") || c.has("instance_class")))
      return true; // App Engine
    // App Engine include files and older app.yaml: `builtins:`/`threadsafe:` next to `handlers:`.
    if (
      (c.has("builtins") || c.has("threadsafe") || c.has("admin_console")) &&
      (c.has("handlers") || (c.has("builtins") && c.has("threadsafe")))
    )
      return true;
    // JSON Schema / Kwalify schemas describe other documents; tools, not PyYAML users, read them.
    if (c.has("$schema") || (c.has("type") && (c.has("properties") || c.has("mapping")))) return true;
  }
  return false;
}

/**
 * Configs composed by Hydra/OmegaConf: OmegaConf adds its own float resolver, so `1e-3` is a float
 * there.
 */
export function isHydraConfig(text: string): boolean {
  return /^defaults:\s*$|^\s*_target_:|\$\{[^}]+\}|^hydra:/m.test(text);
}

/**
 * Every plain (unquoted, untagged, not block) scalar in the file, keys included, with the key it is
 * the value of (`lr` for `lr: 1e-3`; undefined for list items and keys).
 */
export function plainScalars(
  docs: readonly Document.Parsed[],
): { node: Scalar; isKey: boolean; key?: string }[] {
  const out: { node: Scalar; isKey: boolean; key?: string }[] = [];
  for (const doc of docs) {
    visit(doc, {
      Scalar(key, node, path) {
        if (!isScalar(node) || node.type !== "PLAIN" || node.tag || !node.range) return;
        const parent = path[path.length - 1];
        const owner =
          key === "value" && isPair(parent) && isScalar(parent.key) ? String(parent.key.value) : undefined;
        out.push({ node, isKey: key === "key", key: owner });
      },
    });
  }
  return out;
}

/**
 * Loaders that patch PyYAML's float resolver so that `1e-3` is a float: OmegaConf (and so Hydra)
 * and jsonargparse (LightningCLI configs). A file in a project that depends on them, or that
 * carries their markers, is most likely read through them.
 */
export function readWithPatchedFloats(text: string, manifests: ReadonlyMap<string, string>): boolean {
  if (isHydraConfig(text) || /^\s*(class_path|init_args|seed_everything):/m.test(text)) return true;
  for (const content of manifests.values()) {
    if (/(^|[\s"'[,])(omegaconf|hydra-core|jsonargparse)\b/im.test(content)) return true;
  }
  return false;
}

/** Files PyYAML never reads as configs: generated run records, test fixtures, translations. */
export function notAConfig(path: string): boolean {
  const p = path.toLowerCase();
  return (
    /(^|\/)(lightning_logs|wandb|mlruns|outputs|multirun|\.hydra|tests?|fixtures|testdata|locales?|i18n|translations|node_modules|vendor|third_party)\//.test(
      p,
    ) || /(^|\/)(hparams|mlmodel|meta)\.ya?ml$/.test(p)
  );
}
