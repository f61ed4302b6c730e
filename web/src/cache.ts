// The normalised cache: one `tasks` list per (filter, orderBy), pages of a
// list appended by cursor, and helpers that keep every cached list right
// when a task is created, changed or deleted (here or in another tab).
import { InMemoryCache, type ApolloCache, type Modifier, type ModifierDetails, type Reference } from "@apollo/client/cache";
import type { TaskFieldsFragment, TaskFilter, TaskOrder } from "./gql/graphql";

type TaskList = { __typename?: "TaskConnection"; totalCount: number; nodes: Reference[]; pageInfo: { hasNextPage: boolean; endCursor?: string | null } };

export function createCache() {
  return new InMemoryCache({
    typePolicies: {
      Query: {
        fields: {
          tasks: {
            keyArgs: ["filter", ["completed", "search"], "orderBy", ["field", "direction"]],
            merge(existing: TaskList | undefined, incoming: TaskList, { args }) {
              if (!existing || !args?.after) return incoming;
              const seen = new Set(existing.nodes.map((n) => n.__ref));
              return { ...incoming, nodes: [...existing.nodes, ...incoming.nodes.filter((n) => !seen.has(n.__ref))] };
            },
          },
        },
      },
    },
  });
}

/** The args a cached `tasks` field was stored under, from its store name. */
function listArgs(storeFieldName: string): { filter?: TaskFilter | null; orderBy?: TaskOrder | null } {
  const i = storeFieldName.indexOf(":");
  const j = storeFieldName.indexOf("(");
  const at = i >= 0 ? i + 1 : j >= 0 ? j + 1 : -1;
  if (at < 0) return {};
  try {
    const json = storeFieldName.slice(at).replace(/\)$/, "");
    return JSON.parse(json) ?? {};
  } catch {
    return {};
  }
}

export function matches(task: Pick<TaskFieldsFragment, "title" | "description" | "completed">, filter?: TaskFilter | null) {
  if (filter?.completed != null && task.completed !== filter.completed) return false;
  const q = filter?.search?.trim().toLowerCase();
  if (q) return task.title.toLowerCase().includes(q) || (task.description ?? "").toLowerCase().includes(q);
  return true;
}

/** Negative when `a` comes before `b` in `order` (the server's order, ties on id). */
function compare(a: TaskFieldsFragment, b: TaskFieldsFragment, order?: TaskOrder | null) {
  const field = order?.field ?? "CREATED_AT";
  const dir = order?.direction === "ASC" ? 1 : -1;
  const key = (t: TaskFieldsFragment) => (field === "TITLE" ? t.title.toLowerCase() : field === "UPDATED_AT" ? t.updatedAt : t.createdAt);
  const ka = key(a);
  const kb = key(b);
  if (ka !== kb) return (ka < kb ? -1 : 1) * dir;
  return (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * dir;
}

/** Puts `task` where it belongs in every cached list (or takes it out of a
 * list whose filter it no longer matches), keeping totalCount right. */
export function placeTask(cache: ApolloCache<unknown>, task: TaskFieldsFragment) {
  const ref = cache.identify({ __typename: "Task", id: task.id });
  if (!ref) return;
  cache.modify({
    fields: {
      tasks: ((existing: TaskList, { storeFieldName, readField, toReference }: ModifierDetails) => {
        if (!existing?.nodes) return existing;
        const { filter, orderBy } = listArgs(storeFieldName);
        const present = existing.nodes.some((n) => n.__ref === ref);
        const nodes = existing.nodes.filter((n) => n.__ref !== ref);
        const fits = matches(task, filter);
        if (fits) {
          const read = (n: Reference) => ({
            id: readField<string>("id", n) ?? "",
            title: readField<string>("title", n) ?? "",
            createdAt: readField<string>("createdAt", n) ?? "",
            updatedAt: readField<string>("updatedAt", n) ?? "",
          }) as TaskFieldsFragment;
          let at = nodes.findIndex((n) => compare(task, read(n), orderBy) < 0);
          if (at < 0) at = nodes.length;
          // Past the last loaded task of a list with more pages: it is on a later page.
          if (!(at === nodes.length && existing.pageInfo?.hasNextPage)) {
            nodes.splice(at, 0, toReference(ref) as Reference);
          }
        }
        const delta = (fits ? 1 : 0) - (present ? 1 : 0);
        return { ...existing, nodes, totalCount: Math.max(0, (existing.totalCount ?? 0) + delta) };
      }) as Modifier<any>,
    },
  });
}

/** Takes a task out of every cached list and out of the cache. */
export function removeTask(cache: ApolloCache<unknown>, id: string) {
  const ref = cache.identify({ __typename: "Task", id });
  if (!ref) return;
  cache.modify({
    fields: {
      tasks: ((existing: TaskList) => {
        if (!existing?.nodes) return existing;
        const nodes = existing.nodes.filter((n) => n.__ref !== ref);
        if (nodes.length === existing.nodes.length) return existing;
        return { ...existing, nodes, totalCount: Math.max(0, (existing.totalCount ?? 0) - 1) };
      }) as Modifier<any>,
    },
  });
  cache.evict({ id: ref });
}
