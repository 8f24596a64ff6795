/**
 * A configuration or usage problem: the process exits 2 with this message, which names the file (when
 * there is one), the key and what is wrong with it.
 */
export class ConfigError extends Error {
  readonly code = "BREAKWATER_CONFIG_INVALID";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConfigError";
  }
}
