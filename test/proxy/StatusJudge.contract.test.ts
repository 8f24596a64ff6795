import { StatusJudge } from "../../src/judges/StatusJudge.ts";
import { judgeContract } from "../support/judgeContract.ts";

judgeContract({
  name: "StatusJudge",
  make: () => new StatusJudge((status) => status >= 500),
  whole: {
    status: 200,
    headers: { "content-type": "application/json" },
    chunks: [Buffer.from('{"ok":'), Buffer.from("true}")],
  },
});
