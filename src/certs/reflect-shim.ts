/**
 * @peculiar/x509 (through tsyringe) needs the Reflect metadata API, normally provided by the
 * `reflect-metadata` package, which this project does not depend on. This is the small subset it
 * uses. Import it before @peculiar/x509. (Same as test/proxy/helpers/reflect-shim.ts.)
 */
type Key = string | symbol;
const store = new WeakMap<object, Map<Key | undefined, Map<unknown, unknown>>>();

function table(target: object, property: Key | undefined, create: boolean) {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (!entries && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

const R = Reflect as unknown as Record<string, unknown>;
if (typeof R.getMetadata !== 'function') {
  R.defineMetadata = (key: unknown, value: unknown, target: object, property?: Key) => {
    table(target, property, true)!.set(key, value);
  };
  R.getOwnMetadata = (key: unknown, target: object, property?: Key) => table(target, property, false)?.get(key);
  R.getMetadata = (key: unknown, target: object, property?: Key): unknown => {
    for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
      const entries = table(t, property, false);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  };
  R.hasMetadata = (key: unknown, target: object, property?: Key) => (R.getMetadata as (...a: unknown[]) => unknown)(key, target, property) !== undefined;
  R.metadata = (key: unknown, value: unknown) => (target: object, property?: Key) => {
    table(target, property, true)!.set(key, value);
  };
}
export {};
