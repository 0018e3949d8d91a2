// Cold start as a user feels it: a fresh process loads the rules and the parser and reviews one file.
import { Engine } from "../src/engine/engine.js";

const engine = await Engine.create();
const selection = new Map(engine.rules.map((r) => [r.id, { severity: r.severity }]));
await engine.review([{ path: "train.py", content: "import yaml\ncfg = yaml.load(open('c.yaml'))\n" }], {
  selection,
});
process.stdout.write(`${performance.now().toFixed(1)}\n`);
