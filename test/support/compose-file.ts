/**
 * docker-compose.yml as `docker compose` would see it after `cp .env.example .env`: YAML with merge keys (`<<`),
 * interpolated with .env.example's values, plus the small readers the deploy tests share.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../../src/config/config-errors.js';
import type { GatewayConfig } from '../../src/config/gateway-config.js';
import { parseConfig } from '../../src/config/load-config.js';
import { type Env, interpolate, readDotEnv, serviceEnvironment } from './compose-env.js';
import { stageEnv } from './dockerfile.js';

export interface Service {
  build?: string | { context?: string; target?: string; dockerfile?: string };
  image?: string;
  command?: string | string[];
  environment?: unknown;
  env_file?: string | (string | { path: string })[];
  volumes?: (string | { type?: string; source?: string; target: string; read_only?: boolean })[];
  ports?: (string | number | { target: number; published?: string | number })[];
  depends_on?: string[] | Record<string, unknown>;
  networks?: string[] | Record<string, { ipv4_address?: string } | null>;
  stop_grace_period?: string;
  read_only?: boolean;
  deploy?: { replicas?: number };
}

export interface ComposeFile {
  services: Record<string, Service>;
  networks?: Record<string, { ipam?: { config?: { subnet?: string }[] } } | null>;
  volumes?: Record<string, unknown>;
}

export interface Mount {
  source: string;
  target: string;
  bind: boolean;
}

export function loadCompose(path = 'docker-compose.yml', envFile = '.env.example') {
  const raw = parse(readFileSync(path, 'utf8'), { merge: true }) as ComposeFile;
  const env = readDotEnv(envFile);
  const problems: string[] = [];
  const compose = interpolate(raw, env, problems);
  return { raw, compose, env, problems };
}

/** Short (`./a:/b:ro`) and long (`{ type: bind, source, target }`) volume syntax alike. */
export function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume === 'string') {
      const [source, target] = volume.split(':');
      return { source, target, bind: /^[./~]/.test(source) };
    }
    return { source: volume.source ?? '', target: volume.target, bind: volume.type === 'bind' };
  });
}

export function buildTarget(service: Service): string | undefined {
  return typeof service.build === 'object' ? service.build.target : undefined;
}

export function dependencies(service: Service): string[] {
  const dependsOn = service.depends_on ?? [];
  return Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
}

export function networkNames(service: Service): string[] {
  const networks = service.networks ?? [];
  return Array.isArray(networks) ? networks : Object.keys(networks);
}

/** The service's process environment: the image's ENV (for images built here), then the service's `environment:`. */
export function containerEnv(service: Service): Env {
  const target = buildTarget(service);
  return { ...(target ? stageEnv(target) : {}), ...serviceEnvironment(service.environment) };
}

/** "20s", "1m30s", "500ms" in milliseconds, as compose reads durations. */
export function durationMs(duration: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== duration)
    throw new Error(`not a duration: ${duration}`);
  return parts.reduce((total, [, value, unit]) => total + Number(value) * units[unit], 0);
}

/** The gateway's own validation, with every problem in the failure message instead of a bare ConfigError. */
export function validateGatewayConfig(path: string, env: Env): { config?: GatewayConfig; problems: string[] } {
  try {
    return { config: parseConfig(parse(readFileSync(path, 'utf8')), env, path), problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  }
}
