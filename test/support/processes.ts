import { readFileSync } from "node:fs";

/**
 * Whether process `pid` runs: it exists and is no zombie (one that has exited but that its parent, or
 * init for an orphan, has not reaped yet still answers signal 0).
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state …"; comm may hold spaces and parentheses
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return process.platform !== "linux"; // gone between the two looks, or no /proc to ask
  }
}
