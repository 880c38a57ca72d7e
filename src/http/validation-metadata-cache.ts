import { getMetadataStorage } from 'class-validator';

type Storage = ReturnType<typeof getMetadataStorage>;

/**
 * class-validator looks a DTO class's validation metadata up on every validate(): a scan of every registered
 * class for ancestors, then a regrouping by property. Both depend only on the class (and on options we never
 * vary), and decorators run when the classes load, so the lookups are remembered per class and forgotten if
 * anything is registered later. Installed once, on the process-wide storage class-validator itself uses.
 */
export function rememberValidationMetadata(storage: Storage = getMetadataStorage()): void {
  const marked = storage as Storage & { [REMEMBERING]?: true };
  if (marked[REMEMBERING]) return;
  marked[REMEMBERING] = true;

  let lookups = new Map<string, ReturnType<Storage['getTargetValidationMetadatas']>>();
  let groups = new WeakMap<object, ReturnType<Storage['groupByPropertyName']>>();
  const classIds = new WeakMap<object, number>();

  const lookup = storage.getTargetValidationMetadatas.bind(storage);
  storage.getTargetValidationMetadatas = (target, schema, always, strictGroups, onlyGroups) => {
    let id = classIds.get(target);
    if (id === undefined) {
      id = nextId++;
      classIds.set(target, id);
    }
    const key = `${id}|${schema}|${always}|${strictGroups}|${onlyGroups?.join(',') ?? ''}`;
    let found = lookups.get(key);
    if (!found) {
      found = lookup(target, schema, always, strictGroups, onlyGroups);
      lookups.set(key, found);
    }
    return found;
  };

  const group = storage.groupByPropertyName.bind(storage);
  storage.groupByPropertyName = (metadata) => {
    let grouped = groups.get(metadata);
    if (!grouped) {
      grouped = group(metadata);
      groups.set(metadata, grouped);
    }
    return grouped;
  };

  const add = storage.addValidationMetadata.bind(storage);
  storage.addValidationMetadata = (metadata) => {
    lookups = new Map();
    groups = new WeakMap();
    add(metadata);
  };
}

const REMEMBERING = Symbol('validation metadata remembered');
let nextId = 0;
