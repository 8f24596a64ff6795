/** The Lua scripts behind a probe lease (SPEC §6.2), each run atomically by Redis. */

/** Wins the lease when nobody holds it, or extends it when this replica does: 0; else the holder's time left. */
export const leaseScript = `local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 0 end
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then return 1 end
return left`;
export const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
