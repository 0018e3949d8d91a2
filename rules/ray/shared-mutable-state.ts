import type { Node } from "web-tree-sitter";
import { type RayRemote, rayRemotes } from "../../src/engine/python/frameworks.js";
import type { ClassDef, FunctionDef, PythonModel } from "../../src/engine/python/model.js";
import { type CheckContext, defineCheck } from "../../src/engine/rule.js";
import { repetitionOf } from "./_lib.js";

const MUTATORS = new Set([
  "append",
  "extend",
  "insert",
  "update",
  "add",
  "setdefault",
  "pop",
  "popitem",
  "remove",
  "discard",
  "clear",
  "appendleft",
  "extendleft",
]);
const CONTAINER_CALLS = [
  "dict",
  "list",
  "set",
  "collections.defaultdict",
  "collections.OrderedDict",
  "collections.Counter",
  "collections.deque",
];
const CONTAINER_LITERALS = new Set([
  "dictionary",
  "list",
  "set",
  "dictionary_comprehension",
  "list_comprehension",
]);

type Kind = "module" | "param" | "global";

/** Module-level names bound to a fresh dict, list or set. */
function moduleContainers(py: PythonModel): Set<string> {
  const out = new Set<string>();
  for (const a of py.assignments) {
    if (
      a.op !== "=" ||
      a.targets.length !== 1 ||
      !/^[A-Za-z_]\w*$/.test(a.targets[0]) ||
      !py.isModuleLevel(a)
    )
      continue;
    const v = a.value;
    if (!v) continue;
    const fn = v.type === "call" ? py.resolve(v.childForFieldName("function") ?? v) : undefined;
    if (CONTAINER_LITERALS.has(v.type) || (fn && CONTAINER_CALLS.includes(fn))) out.add(a.targets[0]);
  }
  return out;
}

function rootIdentifier(node: Node | null | undefined): string | undefined {
  let cur = node;
  while (cur?.type === "subscript") cur = cur.childForFieldName("value");
  return cur?.type === "identifier" ? cur.text : undefined;
}

/** `x` in `self.x`, `self.x[k]` and `self.x[k][j]`. */
function selfAttribute(node: Node | null | undefined): string | undefined {
  let cur = node;
  while (cur?.type === "subscript") cur = cur.childForFieldName("value");
  if (cur?.type !== "attribute" || cur.childForFieldName("object")?.text !== "self") return undefined;
  return cur.childForFieldName("attribute")?.text;
}

/**
 * The seed's case: one plain dict or list handed to several actors (`[Worker.remote(shared) for _ in
 * range(4)]`), kept as `self.shared` and changed by a method. Each actor changes its own copy.
 */
function copiesHandedToActors(ctx: CheckContext, remote: RayRemote, containers: Set<string>): void {
  const { py } = ctx;
  const cls = remote.def as ClassDef;
  const init = cls.method("__init__");
  if (!init) return;
  const params = init.explicitParams;
  // `self.shared = shared` in `__init__`: attribute -> parameter position.
  const stored = new Map<string, { name: string; index: number }>();
  for (const a of py.assignmentsIn(init.body)) {
    const attr = /^self\.(\w+)$/.exec(a.targets.length === 1 ? a.targets[0] : "")?.[1];
    const index = params.findIndex((p) => p.name === a.value?.text);
    if (attr && a.op === "=" && a.value?.type === "identifier" && index >= 0)
      stored.set(attr, { name: params[index].name, index });
  }
  if (stored.size === 0) return;
  const receiver = new RegExp(`^(?:${remote.names.join("|")})(?:\\.options\\s*\\([^]*\\))?$`);
  const isContainer = (name: string, at: Node): boolean => {
    if (containers.has(name)) return true;
    const v = py.lastAssignment(name, at.startIndex)?.value;
    return v !== undefined && v !== null && ["dictionary", "list", "set"].includes(v.type);
  };
  // Attributes whose constructor argument is the same container for several actors.
  const shared = new Map<string, string>();
  for (const [attr, param] of stored) {
    const passed = py
      .methodCalls("remote")
      .filter((c) => c.receiver && receiver.test(c.receiver.text))
      .map((c) => ({ c, arg: c.arg(param.name, param.index) }))
      .filter(({ arg }) => arg?.type === "identifier" && isContainer(arg.text, arg));
    const many =
      passed.some(({ c }) => repetitionOf(py, c.node)) ||
      passed.some(({ arg }, i) => passed.findIndex((o) => o.arg?.text === arg?.text) !== i);
    if (many && passed[0]?.arg) shared.set(attr, passed[0].arg.text);
  }
  for (const method of cls.methods) {
    if (method.name === "__init__") continue;
    const hits: Node[] = [];
    for (const call of py.callsIn(method.body, { direct: true })) {
      const attr = call.method && MUTATORS.has(call.method) ? selfAttribute(call.receiver) : undefined;
      if (attr && shared.has(attr)) hits.push(call.node);
    }
    for (const a of py.assignmentsIn(method.body)) {
      if (py.functionAt(a) !== method) continue;
      const attr = /^self\.(\w+)\[/.exec(a.targets.length === 1 ? a.targets[0] : "")?.[1];
      if (attr && shared.has(attr)) hits.push(a.node);
    }
    for (const at of hits) {
      const attr =
        selfAttribute(
          at.type === "call"
            ? at.childForFieldName("function")?.childForFieldName("object")
            : at.childForFieldName("left"),
        ) ?? "";
      const name = shared.get(attr) ?? attr;
      ctx.report(at, {
        message:
          `Every \`${cls.name}\` actor was given \`${name}\`, but each received its own deserialised copy, so this change to ` +
          `\`self.${attr}\` in \`${method.name}\` is seen neither by the other actors nor by the driver. Keep the shared ` +
          "state in one actor that the others call (`store.update.remote(...)`), or return the values and combine the " +
          "results of `ray.get` on the driver.",
      });
    }
  }
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  const remotes = rayRemotes(py);
  if (remotes.length === 0) return;
  const containers = moduleContainers(py);
  // The file with the remote code blanked out: what the driver side reads.
  let driverText = ctx.text;
  for (const r of remotes) {
    driverText =
      driverText.slice(0, r.def.start) + " ".repeat(r.def.end - r.def.start) + driverText.slice(r.def.end);
  }
  const driverReads = (name: string) => (driverText.match(new RegExp(`\\b${name}\\b`, "g"))?.length ?? 0) > 1;

  for (const remote of remotes) if (remote.kind === "actor") copiesHandedToActors(ctx, remote, containers);
  for (const remote of remotes) {
    const fns: FunctionDef[] =
      remote.kind === "actor" ? (remote.def as ClassDef).methods : [remote.def as FunctionDef];
    for (const fn of fns) {
      const body = fn.body.text;
      const globals = new Set(
        [...body.matchAll(/^\s*global\s+([\w\s,]+)$/gm)].flatMap((m) => m[1].split(",").map((s) => s.trim())),
      );
      const own = py.assignmentsIn(fn.body).filter((a) => py.functionAt(a) === fn);
      const locals = new Set(
        own
          .filter((a) => a.op === "=")
          .flatMap((a) => a.targets)
          .filter((t) => !globals.has(t)),
      );
      const params = new Set(fn.explicitParams.map((p) => p.name));
      // `return True` or `return None` carries no result; the mutation would then be the only one.
      const returnsValue =
        /^\s*return\s+(?!(?:True|False|None|-?\d+|"[^"]*"|'[^']*')\s*(?:#.*)?$)\S/m.test(body) ||
        /\byield\b/.test(body);
      // A task that returns a value may still be filling the driver's own container: the caller hands it a
      // dict, list or set it built (`fill.remote(cache, k)`), so the change is meant for the caller.
      const containerPassed = (name: string): boolean => {
        if (remote.kind !== "task") return false;
        const index = fn.explicitParams.findIndex((p) => p.name === name);
        const receiver = new RegExp(`^(?:${remote.names.join("|")})(?:\\.options\\s*\\([^]*\\))?$`);
        return py
          .methodCalls("remote")
          .filter((c) => c.receiver && receiver.test(c.receiver.text))
          .some((c) => {
            const arg = c.arg(name, index);
            if (arg?.type !== "identifier") return false;
            if (containers.has(arg.text)) return true;
            const v = py.lastAssignment(arg.text, arg.startIndex)?.value;
            return v !== undefined && v !== null && ["dictionary", "list", "set"].includes(v.type);
          });
      };
      // A per-worker cache (`if key not in CACHE: CACHE[key] = load(key)`) is deliberate.
      const cached = (name: string) => new RegExp(`\\bin\\s+${name}\\b|\\b${name}\\.get\\s*\\(`).test(body);

      // Module state is shared on purpose when the driver reads it, or when nothing reads it at all
      // (the write can only be meant for someone else); read back in other remote code it is per-worker.
      const sharedState = (name: string) => !cached(name) && (driverReads(name) || neverRead(name));
      const kindOf = (name: string, rebinding: boolean): Kind | undefined => {
        if (globals.has(name)) return sharedState(name) ? "global" : undefined;
        if (rebinding) return undefined;
        if (params.has(name)) return returnsValue && !containerPassed(name) ? undefined : "param";
        if (locals.has(name) || !containers.has(name)) return undefined;
        return sharedState(name) ? "module" : undefined;
      };

      // Mutation sites found so far, and a name's mentions outside them: the module binding, `global`
      // lines and these writes are not reads.
      const writeSites: { at: Node; name: string }[] = [];
      const neverRead = (name: string): boolean => {
        let text = py.text;
        for (const w of writeSites)
          if (w.name === name)
            text =
              text.slice(0, w.at.startIndex) +
              " ".repeat(w.at.endIndex - w.at.startIndex) +
              text.slice(w.at.endIndex);
        text = text.replace(new RegExp(`^\\s*global\\s+[\\w\\s,]*\\b${name}\\b[\\w\\s,]*$`, "gm"), "");
        return (text.match(new RegExp(`\\b${name}\\b`, "g"))?.length ?? 0) <= 1;
      };
      for (const call of py.callsIn(fn.body, { direct: true })) {
        const name = call.method && MUTATORS.has(call.method) ? rootIdentifier(call.receiver) : undefined;
        // `tok = CACHE.setdefault(k, load(k))` reads what it stores.
        if (name && call.node.parent?.type === "expression_statement")
          writeSites.push({ at: call.node, name });
      }
      for (const a of own) {
        for (const t of a.targets) {
          const name = /^[A-Za-z_]\w*/.exec(t)?.[0];
          if (name && (t.includes("[") || a.op !== "=" || globals.has(name)))
            writeSites.push({ at: a.node, name });
        }
      }
      const hits: { at: Node; name: string; kind: Kind }[] = [];
      for (const call of py.callsIn(fn.body, { direct: true })) {
        if (!call.method || !MUTATORS.has(call.method)) continue;
        const name = rootIdentifier(call.receiver);
        const kind = name && kindOf(name, false);
        if (name && kind) hits.push({ at: call.node, name, kind });
      }
      for (const a of own) {
        for (const t of a.targets) {
          const subscripted = t.includes("[");
          const name = /^[A-Za-z_]\w*/.exec(t)?.[0];
          if (!name) continue;
          if (!subscripted && a.op === "=" && !globals.has(name)) continue;
          const kind = kindOf(name, !subscripted && a.op === "=");
          if (kind) hits.push({ at: a.node, name, kind });
        }
      }
      // An argument changed and then used further is local working data, not a result meant for the caller.
      // Further changes to it are not uses.
      const usedAfter = (h: { at: Node; name: string }) => {
        let text = py.text.slice(0, fn.end);
        for (const o of hits)
          if (o.name === h.name && o.at.startIndex > h.at.startIndex)
            text =
              text.slice(0, o.at.startIndex) +
              " ".repeat(o.at.endIndex - o.at.startIndex) +
              text.slice(o.at.endIndex);
        return new RegExp(`\\b${h.name}\\b`).test(text.slice(h.at.endIndex));
      };
      hits.sort((x, y) => x.at.startIndex - y.at.startIndex);
      const seen = new Set<number>();
      for (const h of hits) {
        if (seen.has(h.at.startIndex) || (h.kind === "param" && usedAfter(h))) continue;
        seen.add(h.at.startIndex);
        const where = remote.kind === "actor" ? `actor method \`${fn.name}\`` : `remote task \`${fn.name}\``;
        const message =
          h.kind === "param"
            ? `\`${h.name}\` arrives in ${where} as a deserialised copy, so changing it here is invisible to the caller ` +
              "and to every other task. Return the result and collect it with `ray.get`, or keep the shared state in an " +
              "actor and update it through its methods."
            : `\`${h.name}\` is module state, but ${where} runs in a separate worker process with its own copy of the ` +
              `module: the change stays in that worker and the driver's \`${h.name}\` never sees it. Return the value and ` +
              "combine the results of `ray.get` on the driver, or keep the shared state in an actor and update it " +
              "through its methods.";
        ctx.report(h.at, { message });
      }
    }
  }
});
