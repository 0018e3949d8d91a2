import { isTestPath } from "../../src/engine/python/helpers.js";
import { defineCheck } from "../../src/engine/rule.js";

export default defineCheck((ctx) => {
  const { py } = ctx;
  if (isTestPath(ctx.path)) return;
  for (const call of py.callsTo("typer.run")) {
    if (!call.imported) continue;
    const fn = call.args[0]?.text ?? "main";
    ctx.report(call, {
      message:
        `\`typer.run(${fn})\` builds a one-command CLI; adding a second command later means restructuring it and changes how it is invoked. ` +
        `Create \`app = typer.Typer()\`, decorate \`${fn}\` with \`@app.command()\` and call \`app()\`: the command line stays the same today and can grow.`,
    });
  }
});
