import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { LUA_NOW, SharedStateUnavailableError, shared } from './redis.ts';
import { ownedBy } from './rendezvous.ts';

/**
 * The clients alive on one Redis, and the symbols each of them fetches.
 *
 * Each client refreshes its entry in the sorted set `<prefix>clients` every heartbeat, scored by the
 * instant (Redis's clock) at which it is to be forgotten: three heartbeats later. The same script drops
 * the forgotten ones and returns who is left, so every client sees the same list and splits the symbols
 * by rendezvous hashing (`rendezvous.ts`) without talking to the others. A client that stops cleanly
 * removes its entry and says so on `<prefix>clients:changed`, and the others take its symbols over at
 * once; one that dies is forgotten after at most three heartbeats, and the others notice at their next.
 *
 * A client that cannot reach Redis for as long as it would take the others to forget it stops
 * claiming symbols: the others may already have taken them over.
 */

export interface SharingLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface Ownership {
  /** This client's id in the fleet: `host-pid-random`. */
  readonly id: string;
  /** Alive clients as last seen, sorted. */
  members(): readonly string[];
  /** The configured symbols this client fetches now; none while it has lost touch with Redis. */
  owned(): readonly string[];
  /** Called whenever `owned()` changes. */
  onChange(listener: () => void): void;
}

export interface FleetMembership extends Ownership {
  /** Joins (one heartbeat, awaited; a failure is logged and retried) and keeps the heartbeat going. */
  start(): Promise<void>;
  /** One heartbeat now; resolves false when Redis did not answer. */
  heartbeat(): Promise<boolean>;
  /** Leaves: the entry is removed, so the others take this client's symbols over at once. */
  stop(): Promise<void>;
}

export interface FleetMembershipOptions {
  redis: Redis;
  prefix: string;
  /** Every symbol the fleet watches (SYMBOLS): the same list on every client. */
  symbols: readonly string[];
  heartbeatMs: number;
  log: SharingLog;
  id?: string;
  now?: () => number;
}

const MISSED_HEARTBEATS = 3;
const KEY_TTL_MS = 86_400_000;

// KEYS: members, info. ARGV: id, ms until forgotten, info, key ttl. Returns {id, info, id, info, …}.
const HEARTBEAT = `${LUA_NOW}
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return out`;

/** `host-pid-random`: readable in logs, unique even for two clients with one pid in two containers. */
export function newMemberId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, '')
      .slice(0, 40) || 'host';
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export function createFleetMembership(options: FleetMembershipOptions): FleetMembership {
  const { redis, prefix, log, heartbeatMs } = options;
  const id = options.id ?? newMemberId();
  const now = options.now ?? Date.now;
  const expiryMs = heartbeatMs * MISSED_HEARTBEATS;
  const membersKey = `${prefix}clients`;
  const infoKey = `${prefix}clients:info`;
  const channel = `${prefix}clients:changed`;
  const symbols = [...options.symbols];
  // Clients that disagree on SYMBOLS would each leave some symbols to a member that does not watch them.
  const digest = createHash('sha256')
    .update([...symbols].sort().join(','))
    .digest('hex')
    .slice(0, 12);

  let members: string[] = [];
  let owned: string[] = [];
  let lastOkAt = Number.NEGATIVE_INFINITY;
  let failing = false;
  let warnedMismatch = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let subscriber: Redis | undefined;
  let subscribed = false;
  let beating: Promise<boolean> | undefined;
  const listeners: Array<() => void> = [];

  function recompute(reason: string) {
    const next = lostTouch() ? [] : ownedBy(id, symbols, members);
    if (next.length === owned.length && next.every((s, i) => s === owned[i])) return;
    const gained = next.filter((s) => !owned.includes(s));
    const lost = owned.filter((s) => !next.includes(s));
    owned = next;
    log.info(
      { member: id, members, owned, gained, lost },
      `this client (${id}) now fetches ${owned.length} of ${symbols.length} symbols with ${members.length} client${members.length === 1 ? '' : 's'} alive (${reason}): ${owned.join(',') || 'none'}`,
    );
    for (const listener of listeners) listener();
  }

  const lostTouch = () => now() - lastOkAt > expiryMs;

  async function beat(): Promise<boolean> {
    try {
      const flat = (await shared('heartbeat', () =>
        redis.eval(HEARTBEAT, 2, membersKey, infoKey, id, expiryMs, digest, KEY_TTL_MS),
      )) as string[];
      lastOkAt = now();
      const seen: string[] = [];
      let mismatch = false;
      for (let i = 0; i < flat.length; i += 2) {
        seen.push(flat[i]!);
        if (flat[i + 1] && flat[i + 1] !== digest) mismatch = true;
      }
      if (mismatch && !warnedMismatch)
        log.warn(
          { member: id },
          'clients sharing this Redis have different SYMBOLS: a symbol only some of them list may go unfetched; give every client the same SYMBOLS',
        );
      warnedMismatch = mismatch;
      if (failing) log.info({ member: id }, 'Redis answers again: sharing symbols and quota resumes');
      failing = false;
      const before = members;
      members = seen.sort();
      const joined = members.filter((m) => !before.includes(m));
      const left = before.filter((m) => !members.includes(m));
      const what = [
        joined.length > 0 && `joined: ${joined.join(',')}`,
        left.length > 0 && `gone: ${left.join(',')}`,
      ].filter(Boolean);
      recompute(what.join('; ') || 'heartbeat');
      if (subscriber && !subscribed) listen(subscriber);
      return true;
    } catch (error) {
      // Whatever went wrong, a heartbeat must not take the client down: it is retried on the next beat.
      const reason = error instanceof SharedStateUnavailableError ? error.message : String(error);
      if (!failing)
        log.warn(
          { member: id, err: error },
          `${reason}; symbols stay as they are for now, and this client stops fetching if Redis stays away for ${expiryMs} ms`,
        );
      failing = true;
      recompute('out of touch with Redis');
      return false;
    }
  }

  /** Subscribes to join/leave announcements; a failure (Redis away at start) is retried after a good beat. */
  function listen(connection: Redis) {
    subscribed = true;
    connection.subscribe(channel).catch(() => {
      subscribed = false;
    });
  }

  function heartbeat(): Promise<boolean> {
    beating ??= beat().finally(() => {
      beating = undefined;
    });
    return beating;
  }

  return {
    id,
    members: () => members,
    owned: () => owned,
    onChange(listener) {
      listeners.push(listener);
    },
    heartbeat,

    async start() {
      await heartbeat();
      timer = setInterval(() => void heartbeat(), heartbeatMs);
      timer.unref();
      // A join or a clean leave is announced, so the others re-split now rather than at their next beat.
      subscriber = redis.duplicate();
      subscriber.on('error', () => {});
      subscriber.on('message', (_channel: string, from: string) => {
        if (from !== id && !stopped) void heartbeat();
      });
      if (lastOkAt > Number.NEGATIVE_INFINITY) listen(subscriber);
      await redis.publish(channel, id).catch(() => {});
    },

    async stop() {
      stopped = true;
      clearInterval(timer);
      await beating;
      subscriber?.disconnect();
      try {
        await shared('leave', async () => {
          await redis.multi().zrem(membersKey, id).hdel(infoKey, id).exec();
          await redis.publish(channel, id);
        });
      } catch (error) {
        log.warn(
          { member: id, err: error },
          `could not leave cleanly; the others take this client's symbols over within ${expiryMs} ms`,
        );
      }
      members = members.filter((m) => m !== id);
      owned = [];
    },
  };
}
