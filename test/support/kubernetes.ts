/**
 * deploy/kubernetes/ as `kubectl apply -k` would send it: the files kustomization.yaml lists (plus the Secret template
 * the operator applies), each checked against the Kubernetes API schema of its kind by kubernetes-models. The
 * kustomization's namespace is applied to namespaced resources, as kustomize does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parseAllDocuments } from 'yaml';

export const KUBERNETES_DIR = 'deploy/kubernetes';
export const SECRET_TEMPLATE = 'secret.template.yaml';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  file: string;
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field by the tests
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

interface Model {
  validate(): void;
}

const MODELS: Record<string, new (data: never) => Model> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
};

export function readManifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(KUBERNETES_DIR, file), 'utf8'))
    .map((document) => document.toJS())
    .filter((document) => document !== null)
    .map((document) => ({ ...document, file }));
}

export function kustomization(): { namespace?: string; resources: string[] } {
  return readManifests('kustomization.yaml')[0] as unknown as { namespace?: string; resources: string[] };
}

/** The resources kustomize builds, with its namespace set on every namespaced one. */
export function kustomizeBuild(): Manifest[] {
  const { namespace, resources } = kustomization();
  return resources
    .flatMap((file) => readManifests(file))
    .map((manifest) =>
      manifest.kind === 'Namespace' || !namespace
        ? manifest
        : { ...manifest, metadata: { ...manifest.metadata, namespace } },
    );
}

/** Problems kubernetes-models' schema validation finds (types, required fields, enums), per manifest. */
export function schemaProblems(manifest: Manifest): string[] {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) return [`${manifest.file}: no model for ${manifest.apiVersion} ${manifest.kind}`];
  const { file: _file, ...resource } = manifest;
  try {
    new Model(resource as never).validate();
    return [];
  } catch (error) {
    return [`${manifest.file} (${manifest.kind} ${manifest.metadata?.name}): ${(error as Error).message}`];
  }
}

export function find(manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

/** "100m", "1", "256Mi", "1Gi" as numbers (cores, bytes), to compare requests with limits. */
export function quantity(value: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G)?$/.exec(String(value));
  if (!match) throw new Error(`not a quantity: ${value}`);
  const factors: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] ? factors[match[2]] : 1);
}
