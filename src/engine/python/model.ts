import { type Node, Query, type Tree } from "web-tree-sitter";
import {
  addImportBindings,
  anyNameMatches,
  canonicalName,
  type ImportMap,
  type ResolvedName,
  resolveDotted,
} from "../names.js";

// One compiled query with a few broad patterns indexes everything rules ask about, in one pass
// run inside wasm. Rules then work on plain JS data instead of walking the tree themselves.
export const INDEX_QUERY = `
(call function: (_) @callee arguments: (_) @args) @call
(import_statement) @import
(import_from_statement) @import
(future_import_statement) @import
(function_definition name: (identifier) @name) @def
(class_definition name: (identifier) @name) @class
(assignment left: (_) @left) @assign
(augmented_assignment left: (_) @left) @aug
(for_statement) @for
(while_statement) @while
(with_statement) @with
(if_statement condition: (_) @cond) @if
`;

// Names Python provides without an import: never resolved through a star import.
const BUILTINS = new Set(
  "print len range enumerate zip map filter sorted reversed sum min max abs round int float str bool list dict set tuple frozenset type isinstance issubclass getattr setattr hasattr delattr open iter next super object repr format vars dir id hash callable any all divmod pow input exit quit exec eval compile globals locals breakpoint bytes bytearray memoryview slice property staticmethod classmethod chr ord bin hex oct complex help NotImplementedError ValueError TypeError KeyError IndexError RuntimeError Exception AssertionError StopIteration".split(
    " ",
  ),
);

// Run only when needed: comments are many and few rules read them; errors exist only in broken files.
const COMMENT_QUERY = "(comment) @comment";
const ERROR_QUERY = "(ERROR) @error (MISSING) @error";

/** A node's extent: string offsets for containment tests, 1-based lines for reports. */
export interface Span {
  start: number;
  end: number;
  line: number;
  endLine: number;
  column: number;
}

export function spanOf(node: Node): Span {
  const sp = node.startPosition;
  return {
    start: node.startIndex,
    end: node.endIndex,
    line: sp.row + 1,
    endLine: node.endPosition.row + 1,
    column: sp.column + 1,
  };
}

export function contains(
  outer: { start: number; end: number },
  inner: { start: number; end: number },
): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

/** Where a node of the file sits: the span fields every indexed item carries. */
abstract class Spanned implements Span {
  readonly start: number;
  readonly end: number;
  readonly line: number;
  readonly endLine: number;
  readonly column: number;

  protected constructor(node: Node) {
    const s = spanOf(node);
    this.start = s.start;
    this.end = s.end;
    this.line = s.line;
    this.endLine = s.endLine;
    this.column = s.column;
  }
}

export class CallSite extends Spanned {
  /** The callee resolved through imports (`y.load` → `yaml.load`); undefined for computed callees. */
  name: string | undefined;
  /** True when the callee's root name comes from an import. */
  imported: boolean;
  /** The last identifier of the callee: `fit` in `model.fit(...)` and in `make().fit(...)`. */
  readonly method: string | undefined;
  private _args?: Node[];
  private _keywords?: Map<string, Node>;
  private _splat?: boolean;

  constructor(
    readonly node: Node,
    readonly callee: Node,
    readonly argsNode: Node,
    imports: ImportMap,
  ) {
    super(node);
    const calleeText = callee.text;
    const resolved: ResolvedName | undefined = resolveDotted(calleeText, imports);
    this.name = resolved?.name;
    this.imported = resolved?.imported ?? false;
    const m = /([A-Za-z_]\w*)\s*$/.exec(calleeText);
    this.method = m && (callee.type === "attribute" || callee.type === "identifier") ? m[1] : undefined;
  }

  /** The object a method is called on (`self.model` in `self.model.eval()`). */
  get receiver(): Node | undefined {
    return this.callee.type === "attribute"
      ? (this.callee.childForFieldName("object") ?? undefined)
      : undefined;
  }

  private index(): void {
    const args: Node[] = [];
    const kws = new Map<string, Node>();
    let splat = false;
    if (this.argsNode.type === "argument_list") {
      for (const child of this.argsNode.namedChildren) {
        if (!child || child.type === "comment") continue;
        if (child.type === "keyword_argument") {
          const name = child.childForFieldName("name");
          const value = child.childForFieldName("value");
          if (name && value) kws.set(name.text, value);
        } else if (child.type === "list_splat" || child.type === "dictionary_splat") {
          splat = true;
        } else {
          args.push(child);
        }
      }
    } else {
      args.push(this.argsNode); // a bare generator argument: f(x for x in y)
    }
    this._args = args;
    this._keywords = kws;
    this._splat = splat;
  }

  /** Positional arguments, in order. */
  get args(): Node[] {
    if (!this._args) this.index();
    return this._args!;
  }

  get keywords(): Map<string, Node> {
    if (!this._keywords) this.index();
    return this._keywords!;
  }

  /** True when `*args` or `**kwargs` is passed: any keyword might be inside. */
  get hasSplat(): boolean {
    if (this._splat === undefined) this.index();
    return this._splat!;
  }

  /** The value passed as keyword `name`, or positionally at `position` (0-based) when given. */
  arg(name: string, position?: number): Node | undefined {
    return this.keywords.get(name) ?? (position === undefined ? undefined : this.args[position]);
  }

  is(...patterns: string[]): boolean {
    return anyNameMatches(this.name, patterns);
  }
}

export interface Param {
  name: string;
  node: Node;
  annotation?: Node;
  default?: Node;
  /** `*args` / `**kwargs`. */
  variadic: boolean;
}

export class FunctionDef extends Spanned {
  cls: ClassDef | undefined;
  /** The enclosing function, for nested definitions. */
  parentFunction: FunctionDef | undefined;
  private _params?: Param[];
  private _decorators?: string[];

  constructor(
    readonly node: Node,
    readonly name: string,
    private readonly imports: ImportMap,
  ) {
    super(node);
  }

  get body(): Node {
    return this.node.childForFieldName("body")!;
  }

  get isMethod(): boolean {
    return this.cls !== undefined && this.parentFunction === undefined;
  }

  get returnType(): Node | undefined {
    return this.node.childForFieldName("return_type") ?? undefined;
  }

  /** Decorators resolved through imports, call arguments dropped: `@ray.remote(num_gpus=1)` → `ray.remote`. */
  get decorators(): string[] {
    if (!this._decorators) this._decorators = decoratorNames(this.node, this.imports);
    return this._decorators;
  }

  get decoratorNodes(): Node[] {
    return decoratorNodes(this.node);
  }

  get params(): Param[] {
    if (!this._params) this._params = readParams(this.node.childForFieldName("parameters"));
    return this._params;
  }

  /** Parameters other than `self`/`cls` and variadics. */
  get explicitParams(): Param[] {
    return this.params.filter(
      (p, i) => !p.variadic && !(i === 0 && this.isMethod && (p.name === "self" || p.name === "cls")),
    );
  }
}

export class ClassDef extends Spanned {
  readonly methods: FunctionDef[] = [];
  private _bases?: string[];

  constructor(
    readonly node: Node,
    readonly name: string,
    private readonly imports: ImportMap,
  ) {
    super(node);
  }

  get body(): Node {
    return this.node.childForFieldName("body")!;
  }

  /** Base classes resolved through imports; keyword arguments such as `metaclass=` are left out. */
  get bases(): string[] {
    if (!this._bases) {
      const list = this.node.childForFieldName("superclasses");
      this._bases = [];
      for (const child of list?.namedChildren ?? []) {
        if (!child || child.type === "keyword_argument" || child.type === "comment") continue;
        const text =
          child.type === "subscript" ? (child.childForFieldName("value")?.text ?? child.text) : child.text;
        this._bases.push(resolveDotted(text, this.imports)?.name ?? text);
      }
    }
    return this._bases;
  }

  get decorators(): string[] {
    return decoratorNames(this.node, this.imports);
  }

  method(name: string): FunctionDef | undefined {
    return this.methods.find((m) => m.name === name);
  }
}

export class Assignment extends Spanned {
  /** `=` for plain and annotated assignments, else the augmented operator (`+=`). */
  readonly op: string;
  /** Each target's text: `x`, `self.x`, `a[0]`; tuple targets are split (`a, b = …` → `a`, `b`). */
  readonly targets: string[];

  constructor(
    readonly node: Node,
    readonly left: Node,
    augmented: boolean,
  ) {
    super(node);
    this.op = augmented ? (node.childForFieldName("operator")?.text ?? "+=") : "=";
    this.targets = targetNames(left);
  }

  /** The assigned value; undefined for a bare annotation (`x: int`). */
  get value(): Node | undefined {
    return this.node.childForFieldName("right") ?? undefined;
  }

  get annotation(): Node | undefined {
    return this.node.childForFieldName("type") ?? undefined;
  }
}

export class Loop extends Spanned {
  constructor(
    readonly node: Node,
    readonly kind: "for" | "while",
  ) {
    super(node);
  }

  /** `for` loops: the loop variable(s). */
  get target(): Node | undefined {
    return this.kind === "for" ? (this.node.childForFieldName("left") ?? undefined) : undefined;
  }

  /** `for` loops: what is iterated; `while` loops: the condition. */
  get iter(): Node | undefined {
    return (this.node.childForFieldName(this.kind === "for" ? "right" : "condition") ?? undefined) as
      | Node
      | undefined;
  }

  get body(): Node {
    return this.node.childForFieldName("body")!;
  }
}

export interface WithItem {
  /** The context expression (`torch.no_grad()`). */
  value: Node;
  /** The `as` name, if any. */
  alias?: string;
}

export class WithBlock extends Spanned {
  private _items?: WithItem[];

  constructor(readonly node: Node) {
    super(node);
  }

  get items(): WithItem[] {
    if (!this._items) {
      this._items = [];
      const clause = this.node.namedChildren.find((c) => c?.type === "with_clause");
      for (const item of clause?.namedChildren ?? []) {
        if (item?.type !== "with_item") continue;
        const value = item.childForFieldName("value");
        if (!value) continue;
        if (value.type === "as_pattern") {
          const inner = value.namedChildren[0];
          const alias = value.childForFieldName("alias")?.text;
          if (inner) this._items.push({ value: inner, alias });
        } else this._items.push({ value });
      }
    }
    return this._items;
  }

  get body(): Node {
    return this.node.childForFieldName("body")!;
  }
}

export interface IfBlock extends Span {
  node: Node;
  condition: Node;
}

export interface Comment extends Span {
  node: Node;
  text: string;
}

function targetNames(left: Node): string[] {
  if (left.type === "pattern_list" || left.type === "tuple_pattern" || left.type === "list_pattern") {
    return left.namedChildren.flatMap((c) => (c ? targetNames(c) : []));
  }
  if (left.type === "list_splat_pattern") return left.namedChildren.flatMap((c) => (c ? targetNames(c) : []));
  return [left.text.replace(/\s+/g, "")];
}

function decoratorNodes(def: Node): Node[] {
  const parent = def.parent;
  if (parent?.type !== "decorated_definition") return [];
  return parent.namedChildren.filter((c): c is Node => c?.type === "decorator");
}

function decoratorNames(def: Node, imports: ImportMap): string[] {
  return decoratorNodes(def).map((d) => {
    let expr = d.namedChildren[0];
    if (expr?.type === "call") expr = expr.childForFieldName("function");
    const text = expr?.text ?? "";
    return resolveDotted(text, imports)?.name ?? text;
  });
}

function readParams(list: Node | null): Param[] {
  const out: Param[] = [];
  for (const p of list?.namedChildren ?? []) {
    if (!p) continue;
    switch (p.type) {
      case "identifier":
        out.push({ name: p.text, node: p, variadic: false });
        break;
      case "typed_parameter": {
        const inner = p.namedChildren[0];
        const variadic = inner?.type === "list_splat_pattern" || inner?.type === "dictionary_splat_pattern";
        const name = (variadic ? inner?.namedChildren[0]?.text : inner?.text) ?? "";
        out.push({ name, node: p, annotation: p.childForFieldName("type") ?? undefined, variadic });
        break;
      }
      case "default_parameter":
      case "typed_default_parameter":
        out.push({
          name: p.childForFieldName("name")?.text ?? "",
          node: p,
          annotation: p.childForFieldName("type") ?? undefined,
          default: p.childForFieldName("value") ?? undefined,
          variadic: false,
        });
        break;
      case "list_splat_pattern":
      case "dictionary_splat_pattern":
        out.push({ name: p.namedChildren[0]?.text ?? "", node: p, variadic: true });
        break;
    }
  }
  return out;
}

/** Everything the index query found in one Python file. */
export class PythonModel {
  readonly imports: ImportMap = new Map();
  readonly importNodes: Node[] = [];
  /** Modules imported with `from m import *` (their names bind nothing the resolver can follow). */
  readonly starImports = new Set<string>();
  readonly calls: CallSite[] = [];
  readonly functions: FunctionDef[] = [];
  readonly classes: ClassDef[] = [];
  readonly assignments: Assignment[] = [];
  readonly loops: Loop[] = [];
  readonly withs: WithBlock[] = [];
  readonly ifs: IfBlock[] = [];
  private _comments?: Comment[];
  private _errors?: Span[];

  constructor(
    readonly tree: Tree,
    readonly text: string,
    query: Query,
  ) {
    const root = tree.rootNode;
    const matches = query.matches(root);
    const raw: { kind: string; node: Node; sub?: Node; sub2?: Node }[] = [];
    for (const m of matches) {
      const main = m.captures.find(
        (c) =>
          c.name !== "callee" &&
          c.name !== "args" &&
          c.name !== "name" &&
          c.name !== "left" &&
          c.name !== "cond",
      );
      if (!main) continue;
      const kind = main.name;
      if (kind === "import") {
        addImportBindings(main.node.text, this.imports);
        this.importNodes.push(main.node);
        const star = /^\s*from\s+([\w.]+)\s+import\s+\*/.exec(main.node.text);
        if (star) this.starImports.add(canonicalName(star[1]));
        continue;
      }
      const sub = m.captures.find((c) => c !== main && c.name !== "args")?.node;
      const sub2 = m.captures.find((c) => c.name === "args")?.node;
      raw.push({ kind, node: main.node, sub, sub2 });
    }
    // Imports first (all of them, wherever they are), then everything that resolves names.
    for (const r of raw) {
      switch (r.kind) {
        case "call":
          if (r.sub && r.sub2) this.calls.push(new CallSite(r.node, r.sub, r.sub2, this.imports));
          break;
        case "def":
          this.functions.push(new FunctionDef(r.node, r.sub?.text ?? "", this.imports));
          break;
        case "class":
          this.classes.push(new ClassDef(r.node, r.sub?.text ?? "", this.imports));
          break;
        case "assign":
        case "aug":
          if (r.sub) this.assignments.push(new Assignment(r.node, r.sub, r.kind === "aug"));
          break;
        case "for":
        case "while":
          this.loops.push(new Loop(r.node, r.kind));
          break;
        case "with":
          this.withs.push(new WithBlock(r.node));
          break;
        case "if":
          if (r.sub) this.ifs.push({ node: r.node, condition: r.sub, ...spanOf(r.node) });
          break;
      }
    }
    const byStart = (a: Span, b: Span) => a.start - b.start;
    for (const list of [
      this.calls,
      this.functions,
      this.classes,
      this.assignments,
      this.loops,
      this.withs,
    ] as Span[][]) {
      list.sort(byStart);
    }
    this.ifs.sort(byStart);
    this.resolveThroughStarImport();
    // Link methods to classes and nested functions to their parents.
    for (const fn of this.functions) {
      const parentFn = this.innermost(this.functions, fn.start, fn);
      const cls = this.innermost(this.classes, fn.start);
      if (cls && (!parentFn || parentFn.start < cls.start)) {
        // The nearest enclosing definition is the class itself: a method.
        fn.cls = cls;
        cls.methods.push(fn);
      } else {
        fn.parentFunction = parentFn;
      }
    }
  }

  /**
   * `from sklearn.model_selection import *` binds names the import map cannot list. With exactly
   * one such import from a library, a call to a name the file neither imports nor defines is taken
   * to come from it (`train_test_split(...)` → `sklearn.model_selection.train_test_split`).
   */
  private resolveThroughStarImport(): void {
    const stars = [...this.starImports].filter((m) => !m.startsWith("."));
    if (stars.length !== 1 || this.starImports.size !== 1) return;
    const defined = new Set<string>([
      ...this.functions.map((f) => f.name),
      ...this.classes.map((c) => c.name),
      ...this.assignments.flatMap((a) => a.targets),
      ...this.functions.flatMap((f) => f.params.map((p) => p.name)),
    ]);
    for (const call of this.calls) {
      if (call.imported || !call.name) continue;
      const root = call.name.split(".")[0];
      if (defined.has(root) || BUILTINS.has(root) || root === "self" || root === "cls") continue;
      call.name = canonicalName(`${stars[0]}.${call.name}`);
      call.imported = true;
    }
  }

  /** Every comment in the file, in source order. */
  get comments(): Comment[] {
    this._comments ??= runSmallQuery(this.tree, COMMENT_QUERY).map((node) => ({
      node,
      text: node.text,
      ...spanOf(node),
    }));
    return this._comments;
  }

  /** Regions tree-sitter could not parse; findings inside them are dropped. */
  get errors(): Span[] {
    this._errors ??= this.tree.rootNode.hasError ? runSmallQuery(this.tree, ERROR_QUERY).map(spanOf) : [];
    return this._errors;
  }

  private innermost<T extends Span>(list: T[], pos: number, exclude?: T): T | undefined {
    let best: T | undefined;
    for (const item of list) {
      if (item.start > pos) break;
      if (item !== exclude && item.start <= pos && pos < item.end) best = item;
    }
    return best;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** Calls whose resolved name matches any pattern (`yaml.load`, `mlflow.*.log_model`). */
  callsTo(...patterns: string[]): CallSite[] {
    return this.calls.filter((c) => anyNameMatches(c.name, patterns));
  }

  /** Calls of a method by its last name, whatever the receiver (`fit`, `zero_grad`). */
  methodCalls(...methods: string[]): CallSite[] {
    return this.calls.filter((c) => c.method !== undefined && methods.includes(c.method));
  }

  /** True when the file imports any module matching the patterns (`torch`, `lightning.**`). */
  importsModule(...patterns: string[]): boolean {
    const matches = (target: string) =>
      patterns.some((p) => target === p || target.startsWith(`${p}.`) || anyNameMatches(target, [p]));
    for (const target of this.imports.values()) if (matches(target)) return true;
    for (const target of this.starImports) if (matches(target)) return true;
    return false;
  }

  /** Resolves an expression (node or its text) to a qualified name through imports. */
  resolve(expr: Node | string): string | undefined {
    return resolveDotted(typeof expr === "string" ? expr : expr.text, this.imports)?.name;
  }

  // ---- structure ----------------------------------------------------------------------------

  /** The innermost function containing `at` (a node, a span or an offset). */
  functionAt(at: Node | Span | number): FunctionDef | undefined {
    return this.innermost(this.functions, offsetOf(at));
  }

  classAt(at: Node | Span | number): ClassDef | undefined {
    return this.innermost(this.classes, offsetOf(at));
  }

  /** Loops containing `at`, innermost first. */
  loopsAt(at: Node | Span | number): Loop[] {
    const pos = offsetOf(at);
    return this.loops.filter((l) => l.start <= pos && pos < l.end && !sameStart(l, at)).reverse();
  }

  /** `with` blocks containing `at`, innermost first. */
  withsAt(at: Node | Span | number): WithBlock[] {
    const pos = offsetOf(at);
    return this.withs.filter((w) => w.start <= pos && pos < w.end && !sameStart(w, at)).reverse();
  }

  /** Items of type T that lie inside `scope`, in source order. */
  within<T extends Span>(list: readonly T[], scope: { start: number; end: number }): T[] {
    return list.filter((x) => scope.start <= x.start && x.end <= scope.end);
  }

  /** Calls inside `scope`; with `direct`, calls inside nested function definitions are left out. */
  callsIn(scope: Node | Span, opts: { direct?: boolean } = {}): CallSite[] {
    const span = asRange(scope);
    const inside = this.within(this.calls, span);
    if (!opts.direct) return inside;
    const nested = this.functions.filter((f) => span.start < f.start && f.end <= span.end);
    return inside.filter((c) => !nested.some((f) => contains(f, c)));
  }

  /** Assignments inside `scope`, in source order. */
  assignmentsIn(scope: Node | Span): Assignment[] {
    return this.within(this.assignments, asRange(scope));
  }

  /** Code at module level: not inside any function or class body. */
  isModuleLevel(at: Node | Span | number): boolean {
    const pos = offsetOf(at);
    return !this.functionAt(pos) && !this.classAt(pos);
  }

  /** The `if __name__ == "__main__":` block, if the file has one. */
  get mainGuard(): IfBlock | undefined {
    return this.ifs.find((i) =>
      /^__name__\s*==\s*['"]__main__['"]$|^['"]__main__['"]\s*==\s*__name__$/.test(i.condition.text.trim()),
    );
  }

  /**
   * The last simple assignment `name = value` before `at` in the same function (or at module level
   * when `at` is there): enough def-use to follow `X_te = X_test` into `scaler.fit(X_te)`.
   */
  lastAssignment(name: string, at: Node | Span | number): Assignment | undefined {
    const pos = offsetOf(at);
    const fn = this.functionAt(pos);
    let found: Assignment | undefined;
    for (const a of this.assignments) {
      if (a.start >= pos) break;
      if (!a.targets.includes(name)) continue;
      if (this.functionAt(a) !== fn) continue;
      found = a;
    }
    return found;
  }

  /** Comments on line `line` (1-based). */
  commentsOn(line: number): Comment[] {
    return this.comments.filter((c) => c.line === line);
  }
}

const smallQueries = new Map<string, Query>();
function runSmallQuery(tree: Tree, source: string): Node[] {
  let q = smallQueries.get(source);
  if (!q) {
    q = new Query(tree.language, source);
    smallQueries.set(source, q);
  }
  return q.captures(tree.rootNode).map((c) => c.node);
}

function offsetOf(at: Node | Span | number): number {
  if (typeof at === "number") return at;
  if ("startIndex" in at) return at.startIndex;
  return at.start;
}

function sameStart(a: Span, at: Node | Span | number): boolean {
  return typeof at !== "number" && offsetOf(at) === a.start;
}

export function asRange(scope: Node | Span): { start: number; end: number } {
  if ("startIndex" in scope) return { start: scope.startIndex, end: scope.endIndex };
  return scope;
}
