// Whether a query asks for a field below the current one, so resolvers can skip
// loading what nobody reads (vectors are the bulk of a search's bytes).
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

function has(set: SelectionSetNode | undefined, name: string, info: GraphQLResolveInfo, seen: Set<string>): boolean {
  if (!set) return false;
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) {
      if (s.name.value === name || has(s.selectionSet, name, info, seen)) return true;
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      if (has(s.selectionSet, name, info, seen)) return true;
    } else if (!seen.has(s.name.value)) {
      seen.add(s.name.value);
      if (has(info.fragments[s.name.value]?.selectionSet, name, info, seen)) return true;
    }
  }
  return false;
}

export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  return info.fieldNodes.some((node) => has(node.selectionSet, name, info, new Set()));
}
