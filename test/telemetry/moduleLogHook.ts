/**
 * Loaded with `node --import` into a child process (telemetryOff.test.ts): writes the URL of every
 * module the process resolves, one a line, to the file named by `BREAKWATER_MODULE_LOG`. In-thread
 * hooks (`module.registerHooks`) see both `import` and `require`.
 */
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";

const log = process.env["BREAKWATER_MODULE_LOG"];
if (log !== undefined)
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      appendFileSync(log, `${resolved.url}\n`);
      return resolved;
    },
  });
