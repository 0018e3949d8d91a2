// Part of `npm run build`: stores every rule's parsed YAML so start-up need not parse it again.
import { writeRuleCache } from "../src/engine/load-rules.js";

const n = writeRuleCache();
process.stdout.write(`rule cache: ${n} rules\n`);
