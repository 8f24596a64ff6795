/** The Lua scripts behind a probe lease (SPEC §6.2), each run atomically by Redis. */

/**
 * Wins the lease when nobody holds it, or extends it when this replica does: 0; else the holder's time
 * left. A hold without an expiry is no replica's (each sets one): it is taken over, not waited on
 * forever.
 */
export const leaseScript = `local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 0 end
local left = redis.call('PTTL', KEYS[1])
if not holder or left == -1 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 0 end
if left < 1 then return 1 end
return left`;
export const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
