import { ApolloError } from "@apollo/client/core";

export type GqlError = { message: string; extensions?: Record<string, unknown> };

/** The GraphQL errors of a failed operation, also when they came with a
 * non-2xx status (401 for a failed login, 429 for a rate limit). */
export function graphqlErrors(e: unknown): GqlError[] {
  if (e instanceof ApolloError) {
    if (e.graphQLErrors.length) return e.graphQLErrors as GqlError[];
    const result = (e.networkError as { result?: { errors?: GqlError[] } } | null)?.result;
    if (result && Array.isArray(result.errors)) return result.errors;
  }
  return [];
}

export const code = (e: GqlError) => (typeof e.extensions?.code === "string" ? e.extensions.code : undefined);

/** A sentence for the person, whatever went wrong. */
export function describe(e: unknown): string {
  const errors = graphqlErrors(e);
  if (errors.length) {
    const first = errors[0];
    if (code(first) === "TOO_MANY_REQUESTS") return rateLimited(first);
    return first.message;
  }
  if (e instanceof ApolloError && e.networkError) return "The server cannot be reached. Check your connection and try again.";
  return e instanceof Error ? e.message : String(e);
}

export function rateLimited(e: GqlError) {
  const after = Number(e.extensions?.retryAfter);
  return Number.isFinite(after) && after > 0
    ? `Too many attempts. Try again in ${after} second${after === 1 ? "" : "s"}.`
    : "Too many attempts. Try again later.";
}
