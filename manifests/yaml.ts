import { stringify } from 'yaml';

/** Rendered objects as one multi-document YAML text, for `kubectl apply -f -` and for reading plans. */
export function renderYaml(objects: readonly object[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
