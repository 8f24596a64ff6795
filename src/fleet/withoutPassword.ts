/** Moved to the config, which hides secrets in `breakwater check` too: one rule for every URL shown. */
export { redactUrl as withoutPassword } from "../config/redactUrl.ts";
