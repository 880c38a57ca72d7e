/**
 * Reads the Dockerfile the way the deploy tests need it: its build stages with their base images (global ARG
 * defaults substituted) and instructions, and the Node version the gateway image runs, which the production tree
 * must support. Not a full Dockerfile parser: line continuations, comments and `ARG` defaults are all it follows.
 */
import { readFileSync } from 'node:fs';
import { minVersion } from 'semver';

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

export function readInstructions(path = 'Dockerfile'): Instruction[] {
  const logical = readFileSync(path, 'utf8')
    .replace(/\\\r?\n/g, ' ') // a trailing backslash continues the instruction
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  return logical.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

export function readStages(path = 'Dockerfile'): Stage[] {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of readInstructions(path)) {
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const resolved = image.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => globalArgs[arg] ?? '');
      stages.push({
        name: as?.toUpperCase() === 'AS' ? name : String(stages.length),
        image: resolved,
        instructions: [],
      });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [arg, value = ''] = instruction.args.split('=');
      globalArgs[arg] = value.replace(/^"|"$/g, '');
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

export function stage(name: string, path = 'Dockerfile'): Stage {
  const found = readStages(path).find((candidate) => candidate.name === name);
  if (!found) throw new Error(`${path}: no build stage named ${name}`);
  return found;
}

/**
 * The lowest Node version the gateway image (stage `gateway`) can run: `node:24-trixie-slim` gives 24.0.0, so a
 * package that needs `>=24.1` is caught even though today's 24 tag would satisfy it.
 */
export function imageNodeVersion(path = 'Dockerfile'): string {
  const { image } = stage('gateway', path);
  const tag = /^node:(\d+(?:\.\d+){0,2})\b/.exec(image)?.[1];
  const version = tag ? minVersion(tag)?.version : undefined;
  if (!version)
    throw new Error(`${path}: the gateway stage is not based on an official node:<version> image (${image})`);
  return version;
}

/** The Node tag (`24`, `24.18.1`) of the stage that compiles the production tree's native modules. */
export function buildNodeVersion(path = 'Dockerfile'): string {
  const { image } = stage(stage('production-dependencies', path).image, path);
  const tag = /^node:(\d+(?:\.\d+){0,2})\b/.exec(image)?.[1];
  if (!tag) throw new Error(`${path}: native modules are not built on an official node:<version> image (${image})`);
  return tag;
}

/** The ENV a stage sets (`ENV KEY=value` lines), which every container of that image starts with. */
export function stageEnv(name: string, path = 'Dockerfile'): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of stage(name, path).instructions.filter((i) => i.keyword === 'ENV')) {
    const [key, ...value] = instruction.args.split('=');
    env[key] = value.join('=');
  }
  return env;
}
