import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseServerRequestId, serverRequestId } from "../../src/aggregate/serverRequestIds.ts";

describe("server request ids", () => {
  it("makes a server's request id unique per server and reads server and id text back", () => {
    const github = serverRequestId("github", "5");
    const files = serverRequestId("files", "5");
    assert.equal(github, "bw:github:5");
    assert.notEqual(github, files);
    assert.deepEqual(parseServerRequestId(github), { server: "github", idText: "5" });
    assert.deepEqual(parseServerRequestId(files), { server: "files", idText: "5" });
  });

  it("keeps a string id's JSON text, quotes and colons included", () => {
    const id = serverRequestId("notes", JSON.stringify('req:1 "x"'));
    assert.deepEqual(parseServerRequestId(id), { server: "notes", idText: '"req:1 \\"x\\""' });
    assert.equal(JSON.parse(parseServerRequestId(id)?.idText ?? ""), 'req:1 "x"');
  });

  it("refuses ids it did not make: other prefixes, no server, no id", () => {
    for (const id of ["5", "bw5", "bw:", "bw::5", "bw:github", "bw:github:", "xbw:github:5"])
      assert.equal(parseServerRequestId(id), undefined, id);
  });

  it("refuses id text that is not exactly one JSON string or number, so nothing is spliced into a body", () => {
    for (const text of ['1,"method":"x"', "{}", "[1]", "null", "true", '"open', "1e999", "abc", '"a" "b"'])
      assert.equal(parseServerRequestId(`bw:github:${text}`), undefined, text);
  });
});
