import type { Node } from "web-tree-sitter";
import { stringValue } from "../../src/engine/python/helpers.js";
import type { CallSite, PythonModel } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";
import { initAddress } from "./_lib.js";

// `ray://` is Ray Client: the driver runs here and the work on a cluster that has none of this
// machine's files or packages. A bare `host:port` off this machine is a remote head node too.
// `auto` and local addresses run on the cluster itself (e.g. inside a submitted job, whose
// environment is given at submission), so they are left alone, as are addresses not written out.
const LOCAL_HOST = /^(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[?::1\]?)(?::\d+)?$/;

function remoteAddress(address: string): boolean {
  if (address.startsWith("ray://")) return true;
  if (address === "auto" || address === "local" || LOCAL_HOST.test(address)) return false;
  return /^[\w.-]+:\d+$/.test(address);
}

/** An f-string that builds a Ray Client address, `f"ray://{head}:10001"`, shown as written. */
function clientTemplate(node: Node | undefined): string | undefined {
  if (node?.type !== "string") return undefined;
  const m = /^[fF][rR]?(["'])(ray:\/\/.*)\1$/s.exec(node.text);
  return m ? m[2] : undefined;
}

/**
 * The address as written: a string argument, or a name bound to a string once, in the same
 * function or at module level (`address = "10.0.0.5:6379"` then `ray.init(address)`).
 */
function writtenAddress(py: PythonModel, call: CallSite): string | undefined {
  const node = initAddress(call);
  if (node?.type !== "identifier") return stringValue(node) ?? clientTemplate(node);
  const local = py.lastAssignment(node.text, call);
  if (local) return local.targets.length === 1 ? stringValue(local.value) : undefined;
  const bindings = py.assignments.filter((a) => a.targets.includes(node.text));
  const only = bindings.length === 1 ? bindings[0] : undefined;
  return only && only.targets.length === 1 && py.isModuleLevel(only) ? stringValue(only.value) : undefined;
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const call of py.callsTo("ray.init")) {
    if (call.hasSplat || call.arg("runtime_env")) continue;
    const address = writtenAddress(py, call);
    if (address === undefined || !remoteAddress(address)) continue;
    ctx.report(call, {
      message:
        `\`ray.init\` connects to the remote cluster \`${address}\` without a \`runtime_env\`: tasks and actors run ` +
        "with the Python environment of the cluster's nodes, which has neither your local modules nor necessarily the " +
        'package versions you pinned, and fail with ModuleNotFoundError or behave differently. Pass `runtime_env={"working_dir": ".", ' +
        '"pip": [...]}` (or a `conda`/`container` spec), or submit with `ray job submit --runtime-env ...`.',
    });
  }
});
