import 'reflect-metadata';
import { Transform, Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { ID_PATTERN, ID_RULE } from '../common/identifier.js';

/** Algorithms a caller's JWT may be signed with; `none` is never accepted. */
const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;
const JWT_ALGORITHMS = [...ASYMMETRIC_ALGORITHMS, 'HS256'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const URL_OPTIONS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

export class JwtConfig {
  @IsString()
  @MinLength(1)
  issuer!: string;

  @IsString()
  @MinLength(1)
  audience!: string;

  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'must be an http(s) URL' })
  jwksUri?: string;

  @IsOptional()
  @IsString()
  publicKeyFile?: string;

  /** Shared secret for HS256; only honoured when set explicitly. */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters (HS256 needs a strong secret)' })
  secret?: string;

  @IsOptional()
  @IsArray()
  @IsIn(JWT_ALGORITHMS as unknown as string[], {
    each: true,
    message: `each value must be one of ${JWT_ALGORITHMS.join(', ')}`,
  })
  algorithms?: JwtAlgorithm[];

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600)
  clockToleranceSeconds = 30;

  /**
   * How long the JWKS is used before it is fetched again (jose's cacheMaxAge). A key the provider withdraws is trusted
   * at most this long, or until a token with an unknown `kid` makes the gateway fetch the set again.
   */
  @IsOptional()
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  jwksCacheMaxAgeMs = 600_000;

  /** Minimum seconds between two JWKS fetches triggered by an unknown `kid`. */
  @IsOptional()
  @IsInt()
  @Min(1)
  jwksRefetchIntervalSeconds = 30;

  /** Verified tokens remembered until they expire (at most 5 minutes), so a reused token is verified once; 0: off. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  verifiedTokenCacheSize = 10_000;
}

export class ApiKeyConfig {
  @IsString()
  @Matches(ID_PATTERN, { message: `must be ${ID_RULE}` })
  id!: string;

  @IsString()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'must be the SHA-256 of the key, 64 hex characters' })
  sha256!: string;

  @IsArray()
  @IsString({ each: true })
  scopes!: string[];

  @IsOptional()
  @IsString()
  name?: string;
}

export class AuthConfig {
  @IsOptional()
  @ValidateNested()
  @Type(() => JwtConfig)
  jwt?: JwtConfig;

  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ApiKeyConfig)
  apiKeys: ApiKeyConfig[] = [];

  /**
   * Failed authentications (a wrong API key or token) one client address may make per minute before it is answered
   * 429 whatever it sends, until the minute ends; 0: no limit. IPv6 addresses count per /64.
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  failedAttemptsPerMinute = 30;
}

/**
 * A pinned fingerprint as people paste it: the README has them run `openssl x509 -noout -fingerprint -sha256`, which
 * prints `sha256 Fingerprint=AB:CD:…` (OpenSSL 3; 1.1 says `SHA256 Fingerprint=`). The label is dropped, the hex kept.
 */
export function withoutFingerprintLabel(fingerprint: string): string {
  return fingerprint.trim().replace(/^sha-?256\s+fingerprint\s*=\s*/i, '');
}

export class TlsConfig {
  @IsOptional()
  @IsString()
  caFile?: string;

  /** SHA-256 of the appliance's leaf certificate, hex with or without colons, with or without openssl's label. */
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? withoutFingerprintLabel(value) : value))
  @Matches(/^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/, {
    message:
      'must be a SHA-256 fingerprint: 64 hex digits, colons allowed, as `openssl x509 -noout -fingerprint -sha256` prints it',
  })
  fingerprint?: string;

  @IsOptional()
  @IsBoolean()
  insecure = false;
}

export class ApplianceConfig {
  @IsString()
  @Matches(ID_PATTERN, { message: `must be ${ID_RULE}` })
  id!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  name?: string;

  @IsUrl(URL_OPTIONS, { message: 'must be a URL (http:// or https://)' })
  url!: string;

  @IsString()
  @MinLength(1)
  username!: string;

  @IsString()
  @MinLength(1)
  password!: string;

  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  timeoutMs = 10_000;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  tags: string[] = [];

  @IsOptional()
  @ValidateNested()
  @Type(() => TlsConfig)
  tls: TlsConfig = new TlsConfig();
}

export class AuditSqliteConfig {
  @IsOptional()
  @IsString()
  path = 'data/audit.db';
}

export class AuditPostgresConfig {
  @IsString()
  @Matches(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// or postgresql:// URL' })
  url!: string;

  /**
   * The schema the audit tables live in, created if missing. Unset: the connection's current schema (the first of
   * its search_path, normally `public`). Gateways sharing one chain name the same schema.
   */
  @IsOptional()
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'must be a lower-case PostgreSQL identifier: [a-z_][a-z0-9_]{0,62}' })
  schema?: string;
}

export class AuditConfig {
  /**
   * `sqlite` (embedded default) or `postgres` (several gateway replicas share one chain). `off` records nothing
   * and says so loudly at start-up: for benchmarks and labs, never where anyone asks who ran a backup.
   */
  @IsOptional()
  @IsIn(['sqlite', 'postgres', 'off'])
  store: 'sqlite' | 'postgres' | 'off' = 'sqlite';

  @IsOptional()
  @ValidateNested()
  @Type(() => AuditSqliteConfig)
  sqlite: AuditSqliteConfig = new AuditSqliteConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => AuditPostgresConfig)
  postgres?: AuditPostgresConfig;

  /** Entries older than this are purged daily; the chain stays verifiable from the oldest kept entry. */
  @IsOptional()
  @IsInt()
  @Min(1)
  retentionDays?: number;

  /**
   * Where a `completed` entry waits, fsynced, while the store cannot take it (it is written when the store is back,
   * also after a restart). Default: `audit-spool.ndjson` beside the SQLite file, or `data/audit-spool.ndjson`.
   */
  @IsOptional()
  @IsString()
  @MinLength(1)
  spoolPath?: string;
}

export class JobsConfig {
  /** Upstream job-status requests per job are at most one per interval, however many callers watch it. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(60_000)
  pollIntervalMs = 1000;
}

export class FreshnessConfig {
  /**
   * How often each appliance's job list is read for its last successful backup (a slow, light refresh); 0 reads none
   * in the background (a backup the gateway sees succeed still counts).
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(24 * 60)
  refreshMinutes = 15;

  /** A last successful backup older than this (or none at all) is stale: red and first in the console. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(24 * 365)
  maxAgeHours = 26;
}

export class FleetConfig {
  /** Appliances called at once by a fleet-wide run or a status probe. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(256)
  concurrency = 8;

  /**
   * Most appliances one fleet request may name or select: each member is a backup, two audit entries and part of the
   * stored answer, and counts toward `rateLimit.runsPerMinute`.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  maxAppliances = 500;

  /**
   * Most backups running at once on one backup target (the `scheme://host:port` of a schedule's location): a fleet
   * run starts no more on it; `Prefer: respond-async` queues the rest, the 207 answers them TARGET_BUSY.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  perTargetConcurrency = 4;

  /**
   * How long a replica's hold on a fleet run lasts without being renewed (every `jobs.pollIntervalMs`): after a crash,
   * the restarted gateway or another replica resumes the run's queue once it has passed.
   */
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(10 * 60_000)
  leaseMs = 30_000;

  /**
   * How old an appliance's status may get. Background probes (`backgroundProbes`) keep every one younger, spread
   * evenly over the interval; GET /appliances probes what is still older itself.
   */
  @IsOptional()
  @IsInt()
  @Min(1000)
  statusMaxAgeMs = 30_000;

  /**
   * Probe the fleet in the background, so that GET /appliances answers from known status instead of its caller
   * waiting for a fleet of probes. false: only GET /appliances refreshes stale status (nothing is sent to an
   * appliance nobody asked about; test suites that count requests).
   */
  @IsOptional()
  @IsBoolean()
  backgroundProbes = true;

  /**
   * Most background probes per second, whatever the fleet's size: each costs the gateway a connection to the
   * appliance (~1 ms of CPU, bench/README.md), so a fleet larger than this × ¾ statusMaxAgeMs is probed less often
   * (at 2,000 appliances and 20/s, every 100 s) instead of costing more than ~5 % of a core.
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  maxProbesPerSecond = 20;

  /** Time a status probe may take, a login it needs included; a slow appliance shows as unreachable instead of slowing the list. */
  @IsOptional()
  @IsInt()
  @Min(100)
  probeTimeoutMs = 3000;
}

export class BreakerConfig {
  /** Consecutive connection failures or timeouts that open an appliance's circuit. */
  @IsOptional()
  @IsInt()
  @Min(1)
  consecutiveFailures = 5;

  /** How long an open circuit fails fast before one probe call may try again. */
  @IsOptional()
  @IsInt()
  @Min(100)
  halfOpenAfterMs = 30_000;
}

export class LoggingConfig {
  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  level = 'info';
}

/** What one caller, one connection or one appliance may take of the gateway, so that no caller starves another. */
export class LimitsConfig {
  /** Requests of one caller (JWT subject or API key) under way at once; beyond it 429 TOO_MANY_REQUESTS. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  maxInFlightPerCaller = 32;

  /** Requests under way on one connection (HTTP pipelining); beyond it 503 and the connection is closed. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  maxInFlightPerConnection = 8;

  /** Job event streams (SSE) one caller may hold open. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  maxStreamsPerCaller = 64;

  /**
   * Event streams (SSE) open at once, all callers together; beyond that 503 OVERLOADED with Retry-After. Each costs
   * ~15 KB of heap while open (bench sseWatchers): the default keeps 1,000 of them within the start command's heap
   * beside a fleet of 2,000 appliances. Raise it with the heap (--max-old-space-size).
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  maxStreams = 1000;

  /** Load shedding: above this event-loop delay new requests get 503 + Retry-After (0: off). */
  @IsOptional()
  @IsInt()
  @Min(0)
  maxEventLoopDelayMs = 1000;

  /**
   * Load shedding: above this much V8 heap in use new requests get 503 + Retry-After (0: off). Unset: 70 % of the
   * heap V8 may use (`heap_size_limit`, which the start command's --max-old-space-size sets: ~145 of 208 MB).
   */
  @IsOptional()
  @IsInt()
  @Min(0)
  maxHeapUsedMb?: number;

  /** Connections to one appliance, runs and reads together. */
  @IsOptional()
  @IsInt()
  @Min(2)
  @Max(1024)
  upstreamConnections = 64;

  /** Of those, connections only runs (and logins) may use: a flood of reads can never delay a run. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(512)
  reservedRunConnections = 8;
}

export class IdempotencyConfig {
  /** How long a stored answer is replayed for the same Idempotency-Key. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  ttlHours = 24;
}

/**
 * Requests per caller per minute (RateLimitGuard). `enabled: false` takes that guard, and only it, out of every
 * request's pipeline (no counting, no RateLimit-* headers, never 429 RATE_LIMITED): for operators who rate-limit at
 * their own edge (API gateway, load balancer). The other limits (requests at once per caller, per connection, load
 * shedding) still hold.
 */
export class RateLimitConfig {
  @IsOptional()
  @IsBoolean()
  enabled = true;

  /** Run requests per caller per minute (single and fleet runs). */
  @IsOptional()
  @IsInt()
  @Min(1)
  runsPerMinute = 10;

  /** Read requests per caller per minute. */
  @IsOptional()
  @IsInt()
  @Min(1)
  readsPerMinute = 600;
}

/** One Redis for everything replicas share: rate limits, job polling, console sessions. Unset: each replica alone. */
export class RedisConfig {
  @IsString()
  @Matches(/^rediss?:\/\//, { message: 'must be a redis:// or rediss:// URL' })
  url!: string;

  /** Prefix of every key, so several gateways (or other tools) can share one Redis. */
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9:._-]{1,64}$/, { message: 'must be 1-64 of [A-Za-z0-9:._-]' })
  keyPrefix = 'backup-gateway:';
}

export class CorsConfig {
  /** Browser origins allowed to call the API (exact `scheme://host[:port]`); empty: no cross-origin access. */
  @IsOptional()
  @IsArray()
  @Matches(/^https?:\/\/[^/*\s]+$/, {
    each: true,
    message: 'each value must be an origin such as https://portal.example.com',
  })
  origins: string[] = [];
}

export class MetricsConfig {
  @IsOptional()
  @IsBoolean()
  enabled = true;

  /**
   * Serve /metrics, and the readiness details, on this port instead of the main one (so they need not be exposed
   * with the API).
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65535)
  port?: number;

  /**
   * What a scraper sends as `Authorization: Bearer …`. Without `port`, /metrics on the main port exists only with
   * it; with `port`, that port asks for it too.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters (it guards the metrics, which name every appliance)' })
  bearerToken?: string;
}

export class ConsoleOidcConfig {
  @IsUrl(URL_OPTIONS, { message: 'must be an http(s) URL' })
  issuer!: string;

  @IsString()
  @MinLength(1)
  clientId!: string;

  @IsString()
  @MinLength(1)
  clientSecret!: string;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  scopes: string[] = ['openid', 'profile'];
}

export class ConsoleConfig {
  /** The operator console at /console. */
  @IsOptional()
  @IsBoolean()
  enabled = true;

  /**
   * Where browsers reach the gateway; required with `oidc`, whose redirect URI is built from it, never from a
   * request's Host header. Without it (API-key sign-in only), the request's own origin.
   */
  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'must be an http(s) URL' })
  publicUrl?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => ConsoleOidcConfig)
  oidc?: ConsoleOidcConfig;

  /** Demo and labs only: paste an API key once, exchanged for a server-side session. */
  @IsOptional()
  @IsBoolean()
  apiKeyLogin = false;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(24 * 60)
  sessionIdleMinutes = 30;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(7 * 24)
  sessionAbsoluteHours = 8;

  /**
   * Seals the sessions kept in Redis (AES-256-GCM, each bound to its key), so that whoever can write to Redis cannot
   * forge one. Required with `redis.url` and `apiKeyLogin` unless `oidc` is set (its client secret seals them then);
   * when set, it is used instead of the client secret.
   */
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'must be at least 32 characters (it is the key that seals console sessions)' })
  sessionSecret?: string;

  /** Sign-ins started and not yet finished, on the whole gateway (all replicas with Redis): past it, 503. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxPendingLogins = 10_000;

  /** Sign-ins one client address (an IPv6 /64) may have started and not finished: past it, 429. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  pendingLoginsPerAddress = 50;

  /** GET /console/login per client address (an IPv6 /64) per minute: past it, 429. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  loginsPerAddressPerMinute = 30;
}

/** The CloudEvents types the gateway emits (notifications/notification-events.ts builds them). */
export const NOTIFICATION_TYPES = [
  'com.backupgateway.run.accepted',
  'com.backupgateway.job.succeeded',
  'com.backupgateway.job.failed',
  'com.backupgateway.fleet-run.completed',
] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** A Standard Webhooks secret: `whsec_` and the base64 of the key (the loader checks it holds 24 to 64 bytes). */
export const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** Whether a URL names a user (and maybe a password) before its host. */
function hasUserinfo(value: string): boolean {
  try {
    const url = new URL(value);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

export class WebhookConfig {
  @IsString()
  @Matches(ID_PATTERN, { message: `must be ${ID_RULE}` })
  id!: string;

  /**
   * Called as written, and nothing else: no redirect is followed. No `user:password@`: undici would drop it without a
   * word, and the receiver would never see the credentials. The message never repeats the value (it holds them).
   */
  @IsUrl(
    { ...URL_OPTIONS, disallow_auth: true },
    {
      message: ({ value }) =>
        typeof value === 'string' && hasUserinfo(value)
          ? 'must not hold credentials (user:password@): they would not be sent; the signature authenticates the gateway'
          : 'must be an http(s) URL',
    },
  )
  url!: string;

  /** Signs every delivery (Standard Webhooks); from the environment (`${WEBHOOK_SECRET}`), never in the file. */
  @IsString()
  @Matches(WEBHOOK_SECRET, { message: 'must be a Standard Webhooks secret: whsec_ followed by base64' })
  secret!: string;

  /** The event types this endpoint receives; unset: all of them. */
  @IsOptional()
  @IsArray()
  @IsIn(NOTIFICATION_TYPES as unknown as string[], {
    each: true,
    message: `each value must be one of ${NOTIFICATION_TYPES.join(', ')}`,
  })
  events?: NotificationType[];

  /** Only events about appliances with any of these tags; unset: every appliance. */
  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  tags?: string[];
}

/** Signed CloudEvents POSTed to webhooks when runs are accepted and jobs end; no webhook (the default): off. */
export class NotificationsConfig {
  @IsOptional()
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => WebhookConfig)
  webhooks: WebhookConfig[] = [];
}

export class GatewayConfig {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  port = 3000;

  @IsOptional()
  @IsString()
  host = '0.0.0.0';

  /**
   * Where clients reach the gateway (`https://backup-gateway.example.com`): the `source` of every notification.
   * Unset: console.publicUrl.
   */
  @IsOptional()
  @IsUrl(URL_OPTIONS, { message: 'must be an http(s) URL' })
  publicUrl?: string;

  /**
   * Addresses or CIDR ranges of the load balancers in front of us. Only a request arriving from one of them has its
   * X-Forwarded-For believed, so the audit trail records the caller's address, not the proxy's, and nobody else can
   * forge theirs. Empty (the default): the connection's own address.
   */
  @IsOptional()
  @IsArray()
  @Matches(/^[0-9A-Fa-f.:]+(\/\d{1,3})?$/, { each: true, message: 'each value must be an IP address or CIDR range' })
  trustedProxies: string[] = [];

  /** A default, so that a missing or empty `auth:` is told what it needs, not that it is missing. */
  @ValidateNested()
  @Type(() => AuthConfig)
  auth: AuthConfig = new AuthConfig();

  /** Ids are checked unique by the loader, which reports the duplicate's path (and skips ids already invalid). */
  @IsArray()
  @ValidateNested({ each: true })
  @Type(() => ApplianceConfig)
  appliances!: ApplianceConfig[];

  @IsOptional()
  @IsString()
  defaultAppliance?: string;

  /** Time for a whole request, headers and body, from its first byte: a client that trickles gets 408. */
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(600_000)
  requestTimeoutMs = 30_000;

  /** Time for the request headers to arrive. */
  @IsOptional()
  @IsInt()
  @Min(1000)
  @Max(600_000)
  headersTimeoutMs = 10_000;

  /** An idle keep-alive connection is closed after this. */
  @IsOptional()
  @IsInt()
  @Min(100)
  @Max(600_000)
  keepAliveTimeoutMs = 5_000;

  /** Connections open at once; more are refused at the socket, before they cost anything. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  maxConnections = 2048;

  /**
   * Connections the kernel completes and holds until the gateway accepts them (listen(2)'s backlog; Linux caps it
   * at `net.core.somaxconn`, 4096 by default). When it is full, new connections wait and then fail unanswered: a
   * burst of clients (a wall of dashboards reopening their event streams after a deploy) meets this first, while
   * the event loop is busy. With Node's default, 511, 10,000 event-stream watchers opening within two seconds
   * overflowed it ~72,000 times (dropped SYNs, each retried after 1 s or more); with 4096, ~43,000 (bench/README.md,
   * sseWatchers).
   */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(65_535)
  listenBacklog = 4096;

  /** How long in-flight requests may take to finish after SIGTERM before we exit anyway. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(300_000)
  shutdownGraceMs = 10_000;

  @IsOptional()
  @ValidateNested()
  @Type(() => LoggingConfig)
  logging: LoggingConfig = new LoggingConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => AuditConfig)
  audit: AuditConfig = new AuditConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => JobsConfig)
  jobs: JobsConfig = new JobsConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => FleetConfig)
  fleet: FleetConfig = new FleetConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => FreshnessConfig)
  freshness: FreshnessConfig = new FreshnessConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => BreakerConfig)
  breaker: BreakerConfig = new BreakerConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => LimitsConfig)
  limits: LimitsConfig = new LimitsConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => IdempotencyConfig)
  idempotency: IdempotencyConfig = new IdempotencyConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => RateLimitConfig)
  rateLimit: RateLimitConfig = new RateLimitConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => RedisConfig)
  redis?: RedisConfig;

  @IsOptional()
  @ValidateNested()
  @Type(() => CorsConfig)
  cors: CorsConfig = new CorsConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => MetricsConfig)
  metrics: MetricsConfig = new MetricsConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => ConsoleConfig)
  console: ConsoleConfig = new ConsoleConfig();

  @IsOptional()
  @ValidateNested()
  @Type(() => NotificationsConfig)
  notifications: NotificationsConfig = new NotificationsConfig();
}
