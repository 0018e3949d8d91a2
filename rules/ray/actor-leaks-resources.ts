import { anyNameMatches } from "../../src/engine/names.js";
import { localAncestry, rayRemotes } from "../../src/engine/python/frameworks.js";
import type { ClassDef } from "../../src/engine/python/model.js";
import { defineCheck } from "../../src/engine/rule.js";

// Calls that hand back an OS-level handle or a server connection held until closed.
const OPENERS = [
  "open",
  "io.open",
  "gzip.open",
  "bz2.open",
  "lzma.open",
  "socket.socket",
  "socket.create_connection",
  "sqlite3.connect",
  "psycopg2.connect",
  "psycopg.connect",
  "pymysql.connect",
  "mysql.connector.connect",
  "duckdb.connect",
  "pymongo.MongoClient",
  "redis.Redis",
  "redis.StrictRedis",
  "h5py.File",
  "lmdb.open",
  "tables.open_file",
  "paramiko.SSHClient",
  "smtplib.SMTP",
  "ftplib.FTP",
  "zmq.Context",
  "torch.utils.tensorboard.SummaryWriter",
  "tensorboardX.SummaryWriter",
];
const RELEASE_METHODS = new Set([
  "close",
  "shutdown",
  "stop",
  "cleanup",
  "clean_up",
  "teardown",
  "release",
  "terminate",
  "disconnect",
  "dispose",
  "__del__",
  "__exit__",
  "__aexit__",
]);

function releases(ancestry: ClassDef[]): boolean {
  return ancestry.some((c) => c.methods.some((m) => RELEASE_METHODS.has(m.name)));
}

export default defineCheck((ctx) => {
  const { py } = ctx;
  for (const remote of rayRemotes(py)) {
    if (remote.kind !== "actor") continue;
    const cls = remote.def as ClassDef;
    const ancestry = localAncestry(py, cls);
    const init = ancestry.map((c) => c.method("__init__")).find((m) => m !== undefined);
    if (!init || releases(ancestry)) continue;
    // `atexit.register` / `weakref.finalize` in __init__ is a release too.
    const initCalls = py.callsIn(init.body);
    if (initCalls.some((c) => c.is("atexit.register", "weakref.finalize"))) continue;
    for (const a of py.assignmentsIn(init.body)) {
      const target = a.targets.find((t) => /^self\.\w+$/.test(t));
      const value = a.value;
      if (!target || a.op !== "=" || value?.type !== "call" || py.functionAt(a) !== init) continue;
      const call = initCalls.find((c) => c.start === value.startIndex);
      if (!call) continue;
      const opens =
        anyNameMatches(call.name, OPENERS) || (call.receiver !== undefined && call.method === "connect");
      if (!opens) continue;
      ctx.report(a, {
        message:
          `Actor \`${cls.name}\` opens \`${target}\` in \`__init__\` and has no \`close\`/\`shutdown\`/\`__del__\` method ` +
          "to release it. Actors are torn down by `ray.kill`, node loss or their handles going out of scope; " +
          "`ray.kill` skips cleanup handlers, so buffered writes are lost and connections are dropped instead of " +
          "closed, and restarted actors open new ones. Add a method that closes it and call it before dropping the " +
          "actor (`ray.get(actor.close.remote())`), or open the resource per call with a `with` block.",
      });
    }
  }
});
