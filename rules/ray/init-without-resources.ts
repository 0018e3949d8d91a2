import { isTestPath, literal } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";
import { initAddress } from "./_lib.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  // Tests start throwaway local clusters; sizing them is not what this rule is about.
  if (isTestPath(ctx.path)) return;
  for (const call of py.callsTo("ray.init")) {
    const address = initAddress(call);
    // `address=None` starts a local instance just like no address.
    if (call.hasSplat || (address && literal(address)?.kind !== "none")) continue;
    if (call.arg("num_cpus") || call.arg("num_gpus")) continue;
    ctx.report(call, {
      message:
        "`ray.init()` without `num_cpus`/`num_gpus` (and without an `address`) starts a local Ray instance, unless " +
        "`RAY_ADDRESS` is set or a cluster is already running on this machine, and sizes it from what Ray detects on " +
        "the host. In containers, SLURM or other batch allocations that can be the whole machine rather than the CPUs " +
        "and GPUs the job was given, so Ray starts more workers than the job may use. " +
        "Pass the allocation explicitly, e.g. `ray.init(num_cpus=int(os.environ['SLURM_CPUS_PER_TASK']), num_gpus=1)`, " +
        'or connect to a running cluster with `ray.init(address="auto")`.',
    });
  }
});
