import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

/**
 * The production recipes say what the README says. No container engine runs here: the Dockerfile's
 * steps are run by scripts/package-check.sh (in CI), and these tests keep its paths and ports, and the
 * systemd unit's, in step with the README's "Install and run in production".
 */
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const readme = read("README.md");
const dockerfile = read("Dockerfile");
const unit = read("deploy/breakwater.service");
const production = readme.slice(readme.indexOf("## Install and run in production"));
const instructions = dockerfile.replace(/\\\n/g, " ").split("\n");
const instruction = (name: string) => instructions.filter((line) => line.startsWith(`${name} `));
const configPath = "/etc/breakwater/breakwater.toml";

/** The default of a `server.*` key in the README's configuration table. */
function readmeDefault(key: string): string {
  const row = readme.split("\n").find((line) => line.startsWith(`| \`server.${key}\``));
  const value = row?.split("|")[2]?.trim().replace(/`/g, "");
  assert.ok(value, `the README's table has no default for server.${key}`);
  return value;
}

describe("production recipes (Dockerfile, systemd unit) and the README", () => {
  it("the README has the section, naming the config path, the ports and the admin token", () => {
    assert.ok(readme.includes("## Install and run in production"));
    for (const text of [configPath, "8080", "9901", "admin_token", "BREAKWATER_ADMIN_TOKEN", "/ready"]) {
      assert.ok(production.includes(text), `the section names ${text}`);
    }
  });

  it("the Dockerfile's HEALTHCHECK asks /ready on the admin listener's default port", () => {
    const [healthcheck] = instruction("HEALTHCHECK");
    assert.ok(healthcheck?.includes("process.env.BREAKWATER_READY_URL"), healthcheck);
    const env = instruction("ENV").find((line) => line.includes("BREAKWATER_READY_URL="));
    const ready = new URL(env?.split("BREAKWATER_READY_URL=")[1]?.trim() ?? "");
    const admin = readmeDefault("admin_listen");
    assert.equal(ready.pathname, "/ready");
    assert.equal(ready.port, admin.split(":").at(-1));
  });

  it("the Dockerfile exposes the default ports of the proxy and the admin listener", () => {
    const exposed = instruction("EXPOSE").flatMap((line) => line.split(/\s+/).slice(1));
    for (const key of ["listen", "admin_listen"]) {
      assert.ok(exposed.includes(readmeDefault(key).split(":").at(-1) ?? ""), `EXPOSE ${key}'s port`);
    }
  });

  it("the Dockerfile and the unit run the config at the path the README gives", () => {
    assert.deepEqual(instruction("CMD"), [`CMD ["--config", "${configPath}"]`]);
    assert.match(unit, new RegExp(`^ExecStart=\\S*breakwater --config ${configPath}$`, "m"));
  });

  it("the Dockerfile installs the packed tarball without devDependencies, runs as non-root, stops on SIGTERM", () => {
    assert.ok(instruction("RUN").some((line) => /\bnpm pack\b/.test(line)));
    assert.ok(instruction("RUN").some((line) => /npm install --omit=dev .*breakwater\.tgz/.test(line)));
    const users = instruction("USER");
    assert.ok(users.length > 0 && users.every((line) => !/\broot\b|\b0\b/.test(line)), users.join());
    assert.deepEqual(instruction("STOPSIGNAL"), ["STOPSIGNAL SIGTERM"]);
  });

  it("the unit reloads with SIGHUP, restarts on failure but not on a bad config, and drops privileges", () => {
    for (const line of [
      "ExecReload=/bin/kill -HUP $MAINPID",
      "Restart=on-failure",
      "RestartPreventExitStatus=2",
      "NoNewPrivileges=yes",
      "DynamicUser=yes",
      "ProtectSystem=strict",
    ]) {
      assert.match(unit, new RegExp(`^${line.replace(/[$]/g, "\\$")}$`, "m"), line);
    }
  });
});
