/**
 * deploy/kubernetes/, read as kustomize builds it: each manifest against the Kubernetes API schema of its kind
 * (kubernetes-models 4.x; 5.x needs Node 22), then the properties that make the gateway run well there, and the
 * ConfigMap's gateway.yaml through the gateway's own validation with the Secret template's placeholders as env.
 * kubernetes-models does not flag unknown fields, so every field that matters is also read and checked here.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../../src/config/config-errors.js';
import type { GatewayConfig } from '../../../src/config/gateway-config.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { stage, stageEnv } from '../../support/dockerfile.js';
import {
  find,
  KUBERNETES_DIR,
  kustomization,
  kustomizeBuild,
  type Manifest,
  quantity,
  readManifests,
  SECRET_TEMPLATE,
  schemaProblems,
} from '../../support/kubernetes.js';
import { tempDir } from '../../support/temp-dir.js';

const manifests = kustomizeBuild();
const secret = readManifests(SECRET_TEMPLATE)[0];
const deployment = find(manifests, 'Deployment');
const hpa = find(manifests, 'HorizontalPodAutoscaler');
/** The replicas serving when nothing scales up: the autoscaler's floor, since it owns the count. */
const minReplicas: number = hpa.spec.minReplicas;
const pod = deployment.spec.template.spec;
const container = pod.containers[0];
const podLabels: Record<string, string> = deployment.spec.template.metadata.labels;
const selects = (selector: { matchLabels: Record<string, string> }) =>
  Object.entries(selector.matchLabels).every(([key, value]) => podLabels[key] === value);
const containerPort = (name: string | number) =>
  typeof name === 'number' ? name : container.ports.find((p: { name: string }) => p.name === name)?.containerPort;

/** The environment the container starts with: the image's ENV, `env:`, and the Secret template through envFrom. */
function podEnv(): Record<string, string> {
  const env: Record<string, string> = { ...stageEnv('gateway') };
  for (const entry of container.env ?? []) env[entry.name] = entry.value;
  for (const from of container.envFrom ?? []) {
    if (from.secretRef?.name === secret.metadata.name) Object.assign(env, secret.stringData);
  }
  return env;
}

/**
 * gateway.yaml as the pod reads it: every ConfigMap volume written under a scratch root at its mount path, the
 * config's absolute paths (tls.caFile…) pointed into that root, then the gateway's own validation.
 */
function podConfig(): { config?: GatewayConfig; problems: string[] } {
  const root = tempDir('gw-k8s-');
  try {
    for (const mount of container.volumeMounts) {
      const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
      if (!volume?.configMap) continue;
      const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === volume.configMap.name);
      for (const [key, text] of Object.entries(configMap?.data ?? {})) {
        mkdirSync(join(root, mount.mountPath), { recursive: true });
        writeFileSync(join(root, mount.mountPath, key), text);
      }
    }
    const env = podEnv();
    const mountPaths: string[] = container.volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    const relocate = (value: unknown): unknown => {
      if (typeof value === 'string') {
        return mountPaths.some((path) => value.startsWith(`${path}/`)) ? join(root, value) : value;
      }
      if (Array.isArray(value)) return value.map(relocate);
      if (value && typeof value === 'object') {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relocate(v)]));
      }
      return value;
    };
    // ENOENT here: GATEWAY_CONFIG names a path no ConfigMap is mounted at.
    const document = parse(readFileSync(join(root, env.GATEWAY_CONFIG), 'utf8'));
    return { config: parseConfig(relocate(document), env, env.GATEWAY_CONFIG), problems: [] };
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems };
    throw error;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function gatewayConfig(): GatewayConfig {
  const { config, problems } = podConfig();
  expect(problems).toEqual([]);
  return config as GatewayConfig;
}

describe('deploy/kubernetes', () => {
  it('kustomization.yaml lists every manifest there but the Secret template, and sets one namespace', () => {
    const files = readdirSync(KUBERNETES_DIR).filter((file) => file.endsWith('.yaml'));
    const expected = files.filter((file) => file !== 'kustomization.yaml' && file !== SECRET_TEMPLATE).sort();
    expect([...kustomization().resources].sort()).toEqual(expected);
    const namespace = find(manifests, 'Namespace').metadata.name;
    expect(kustomization().namespace).toBe(namespace);
    expect(secret.metadata.namespace).toBe(namespace); // applied by hand, outside kustomize
  });

  it('every manifest and the Secret template pass the Kubernetes API schema of their kind (kubernetes-models)', () => {
    const all: Manifest[] = [...manifests, secret];
    expect(all.map((m) => m.kind).sort()).toEqual(
      [
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Namespace',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Secret',
        'Service',
      ].sort(),
    );
    expect(all.flatMap(schemaProblems)).toEqual([]);
    // The schema check does reject: a string where an integer belongs.
    const broken = { ...deployment, spec: { ...deployment.spec, replicas: 'two' } };
    expect(schemaProblems(broken)).toEqual([expect.stringContaining('replicas must be integer')]);
  });

  it('Deployment: readiness on /health/ready and liveness on /health/live at the port the image listens on', () => {
    expect(selects(deployment.spec.selector)).toBe(true);
    expect(String(containerPort('http'))).toBe(stageEnv('gateway').PORT);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('a Deployment an autoscaler scales leaves `replicas` unset: each `kubectl apply` would reset the count', () => {
    const scaled = manifests
      .filter((m) => m.kind === 'HorizontalPodAutoscaler' && m.spec.scaleTargetRef.kind === 'Deployment')
      .map((m) => m.spec.scaleTargetRef.name);
    expect(scaled).toContain(deployment.metadata.name);
    const pinned = manifests
      .filter((m) => m.kind === 'Deployment' && scaled.includes(m.metadata.name) && m.spec.replicas !== undefined)
      .map((m) => `${m.file}: replicas ${m.spec.replicas}`);
    expect(pinned).toEqual([]);
  });

  it('Deployment: CPU and memory requests and limits, requests within limits', () => {
    const { requests, limits } = container.resources;
    for (const resource of ['cpu', 'memory']) {
      expect(quantity(requests[resource])).toBeGreaterThan(0);
      expect(quantity(requests[resource])).toBeLessThanOrEqual(quantity(limits[resource]));
    }
    // The start command caps V8's heap at ~208 MB (load is shed below it): the container must have room above it.
    expect(quantity(limits.memory)).toBeGreaterThan(208 * 2 ** 20 * 2);
  });

  it('Deployment: non-root (the image user), read-only root, writes only to emptyDirs at data/ and /tmp', () => {
    const [uid] = (stage('gateway').instructions.find((i) => i.keyword === 'USER')?.args ?? '').split(':');
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(String(pod.securityContext.runAsUser)).toBe(uid);
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const workdir = stage('gateway').instructions.find((i) => i.keyword === 'WORKDIR')?.args;
    const writable = container.volumeMounts
      .filter((mount: { readOnly?: boolean }) => !mount.readOnly)
      .map((mount: { name: string; mountPath: string }) => ({
        path: mount.mountPath,
        emptyDir: pod.volumes.find((v: { name: string }) => v.name === mount.name)?.emptyDir !== undefined,
      }));
    expect(writable).toEqual(
      expect.arrayContaining([
        { path: `${workdir}/data`, emptyDir: true },
        { path: '/tmp', emptyDir: true },
      ]),
    );
    expect(writable.every((w: { emptyDir: boolean }) => w.emptyDir)).toBe(true);
  });

  it('Deployment: the grace period covers the preStop pause plus shutdownGraceMs, so SIGTERM drains', () => {
    const preStopSeconds = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
    expect(preStopSeconds).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      preStopSeconds * 1000 + gatewayConfig().shutdownGraceMs,
    );
  });

  it('Service and PodDisruptionBudget select the pods; the budget lets a drain evict one of 2', () => {
    const service = find(manifests, 'Service');
    expect(selects({ matchLabels: service.spec.selector })).toBe(true);
    expect(containerPort(service.spec.ports[0].targetPort)).toBe(gatewayConfig().port);
    const budget = find(manifests, 'PodDisruptionBudget');
    expect(selects(budget.spec.selector)).toBe(true);
    expect(budget.spec.minAvailable).toBeGreaterThanOrEqual(1);
    expect(budget.spec.minAvailable).toBeLessThan(minReplicas);
  });

  it('HorizontalPodAutoscaler scales the Deployment from 2, up to a small ceiling (replicas x appliances sessions)', () => {
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: deployment.metadata.name,
    });
    expect(hpa.spec.minReplicas).toBe(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    // Every replica holds a session on every appliance; the README ("How many sessions on each vCenter") has the arithmetic.
    expect(hpa.spec.maxReplicas * gatewayConfig().appliances.length).toBeLessThanOrEqual(20);
  });

  it('NetworkPolicy: in only to the gateway port from the ingress namespace; out only DNS and what the config calls', () => {
    const policy = find(manifests, 'NetworkPolicy');
    expect(selects(policy.spec.podSelector)).toBe(true);
    expect(policy.spec.policyTypes.sort()).toEqual(['Egress', 'Ingress']);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].from[0].namespaceSelector).toBeDefined();
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: gatewayConfig().port }]);

    type Rule = { to?: unknown[]; ports?: { protocol: string; port: number }[] };
    const rules: Rule[] = policy.spec.egress;
    expect(rules.every((rule) => (rule.to ?? []).length > 0 && (rule.ports ?? []).length > 0)).toBe(true); // no allow-all
    const allowed = new Set(rules.flatMap((rule) => (rule.ports ?? []).map((p) => `${p.protocol}/${p.port}`)));

    const config = gatewayConfig();
    const port = (url: string) => new URL(url).port || (url.startsWith('https') ? '443' : '80');
    const needed = new Set([
      'UDP/53',
      'TCP/53',
      `TCP/${port(config.audit.postgres?.url.replace(/^postgres(ql)?:/, 'http:') ?? '')}`,
      `TCP/${port(config.redis?.url.replace(/^rediss?:/, 'http:') ?? '')}`,
      ...config.appliances.map((appliance) => `TCP/${port(appliance.url)}`),
      ...(config.auth.jwt?.jwksUri ? [`TCP/${port(config.auth.jwt.jwksUri)}`] : []),
    ]);
    expect([...allowed].sort()).toEqual([...needed].sort());
  });

  it('the ConfigMap gateway.yaml passes the gateway validation with the Secret template as env: PostgreSQL and Redis', () => {
    const config = gatewayConfig();
    expect(config.audit.store).toBe('postgres');
    expect(config.redis?.url).toMatch(/^redis:\/\/:[^@]+@/);
    expect(config.appliances.every((a) => a.url.startsWith('https://') && a.tls.caFile !== undefined)).toBe(true);
    // Without the Secret the same file fails, naming what is missing: the env really is what makes it valid.
    const saved = secret.stringData;
    secret.stringData = {};
    try {
      expect(podConfig().problems).toEqual(
        expect.arrayContaining([expect.stringContaining('environment variable AUDIT_DB_PASSWORD is not set')]),
      );
    } finally {
      secret.stringData = saved;
    }
  });

  it('the Secret template holds placeholders only, under the name the Deployment reads', () => {
    expect(container.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
    const values = Object.entries(secret.stringData ?? {});
    expect(values.length).toBeGreaterThan(0);
    expect(secret.data).toBeUndefined();
    const placeholderHash = createHash('sha256').update('change-me-api-key').digest('hex');
    for (const [key, value] of values) {
      if (/PASSWORD/.test(key)) expect(value).toMatch(/^change-me/);
      else if (/SHA256/.test(key)) expect(value).toBe(placeholderHash);
      else expect(value).toMatch(/@vsphere\.local$/); // user names
    }
    expect(dirname(podEnv().GATEWAY_CONFIG)).toBe(
      container.volumeMounts.find((m: { name: string }) => m.name === 'config')?.mountPath,
    );
  });
});
