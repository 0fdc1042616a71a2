import { ApiError, PaginationError, errorMembers } from './errors';
import { attempts } from './send';

/** A result in openapi-fetch's shape: the parsed body of a 2xx, or the parsed error body. */
export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * The data of a 2xx result; for any other status, the ApiError it stands for (status, the
 * body's `error` and `error_description`, and how many times the request was sent).
 */
export function unwrap<T>(result: FetchResult<T>): T {
  if (result.response.ok) return result.data as T;
  const { error, description } = errorMembers(result.error);
  throw new ApiError(result.response.status, error, description, attempts(result.response));
}

/** The target of a rel="next" link in a Link header (RFC 8288). */
export function nextLink(header: string | null): string | undefined {
  if (!header) return undefined;
  for (const link of header.split(',')) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(link);
    if (!match) continue;
    const isNext = match[2].split(';').some((param) => {
      const [key, value] = param.split('=').map((s) => s.trim());
      return key?.toLowerCase() === 'rel' && (value ?? '').replace(/"/g, '').split(' ').includes('next');
    });
    if (isNext) return match[1];
  }
  return undefined;
}

export interface PageShape {
  /** The query parameter that names a page (default `cursor`). */
  cursorParam?: string;
  /** The member of a page holding its items (default `items`); a page may also be an array. */
  itemsField?: string;
  /** The member of a page holding the next page's cursor (default `next_cursor`). */
  nextField?: string;
}

/** The item type of a page: the elements of its items member, or of the page itself. */
export type ItemOf<Page, Field extends string = 'items'> = Page extends readonly (infer I)[]
  ? I
  : Page extends { [key in Field]?: readonly (infer I)[] }
    ? I
    : unknown;

/**
 * Every item of a paginated collection, page after page. `fetchPage(cursor)` asks for the page
 * at `cursor` (undefined: the first). The next cursor is the cursor parameter of a
 * `Link: <…>; rel="next"` header (same origin only: the token must not travel elsewhere), or
 * else the page's next-cursor member; the last page has neither. A refused page is an ApiError.
 */
export async function* paginate<Page, Field extends string = 'items'>(
  fetchPage: (cursor: string | undefined) => Promise<FetchResult<Page>>,
  shape: PageShape & { itemsField?: Field } = {},
): AsyncGenerator<ItemOf<Page, Field>, void, undefined> {
  const param = shape.cursorParam ?? 'cursor';
  const itemsField = shape.itemsField ?? 'items';
  const nextField = shape.nextField ?? 'next_cursor';
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const result = await fetchPage(cursor);
    const body = unwrap(result) as unknown;
    let items: unknown;
    let bodyCursor: unknown;
    if (Array.isArray(body)) {
      items = body;
    } else if (body !== null && typeof body === 'object') {
      items = (body as Record<string, unknown>)[itemsField];
      bodyCursor = (body as Record<string, unknown>)[nextField];
    }
    if (!Array.isArray(items)) throw new PaginationError(`a page must be an array or an object with an ${itemsField} array`);
    const link = nextLink(result.response.headers.get('link'));
    let next: string | undefined;
    if (link !== undefined) {
      const here = new URL(result.response.url);
      const target = new URL(link, here);
      if (target.origin !== here.origin) throw new PaginationError(`the next link ${target.href} points to another origin`);
      next = target.searchParams.get(param) ?? undefined;
      if (next === undefined) throw new PaginationError(`the next link ${target.href} has no ${param} parameter`);
    } else if (typeof bodyCursor === 'string' && bodyCursor !== '') {
      next = bodyCursor;
    }
    for (const item of items) yield item as ItemOf<Page, Field>;
    if (next === undefined) return;
    if (seen.has(next)) throw new PaginationError(`the server named page ${JSON.stringify(next)} twice`);
    seen.add(next);
    cursor = next;
  }
}
