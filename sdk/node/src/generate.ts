/**
 * From an OpenAPI 3 document to a typed client with one named method per operation, in the
 * shape of the Blue Canvas seed's SDK: `api.deployments.putCheck({ deploymentNumber, name,
 * check })`. Types come from `openapi-typescript` (schema.ts), requests from `openapi-fetch`,
 * authentication, retries and pagination from this package (client.ts). Grouping and names:
 *
 * - the group is the operation's first tag, camelCased (no tag: a method of the client itself);
 * - the method is its `operationId`, camelCased, without a leading `tag.`, `tag_` or `tag-`
 *   (no operationId: the method and path, e.g. `getProjects`);
 * - the arguments are one object: each path and query parameter by name, and the body under
 *   `x-codegen-request-body-name` (default `body`);
 * - an operation with a `cursor` (or `page_token`, `after`) query parameter whose answer has an
 *   `items` (or `data`) array, or is an array, is paginated: its method returns an async
 *   iterator over every item of every page.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import openapiTS, { astToString } from 'openapi-typescript';

import { ConfigError } from './errors';

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;
const CURSOR_PARAMS = ['cursor', 'page_token', 'pageToken', 'after', 'starting_after'];
const ITEMS_FIELDS = ['items', 'data', 'results'];
const NEXT_FIELDS = ['next_cursor', 'nextCursor', 'next_page_token', 'nextPageToken'];

/** One operation of the document, as the client exposes it. */
export interface Operation {
  group: string | undefined;
  name: string;
  method: (typeof METHODS)[number];
  path: string;
  summary?: string;
  pathParams: string[];
  queryParams: string[];
  body?: { name: string; required: boolean; mediaType: string };
  paging?: { cursorParam: string; itemsField?: string; nextField?: string };
}

function camel(text: string): string {
  const words = text.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((w, i) => (i === 0 ? w[0].toLowerCase() + w.slice(1) : w[0].toUpperCase() + w.slice(1))).join('');
  return /^[0-9]/.test(joined) ? `_${joined}` : joined;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const key = (name: string) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));
const member = (object: string, name: string) => (IDENTIFIER.test(name) ? `${object}.${name}` : `${object}[${JSON.stringify(name)}]`);

/** Follows a local `$ref` (`#/components/...`); other refs are not supported. */
function resolve(doc: Json, value: unknown): Json {
  let node = value as Json;
  for (let depth = 0; node && typeof node.$ref === 'string'; depth++) {
    const ref = node.$ref as string;
    if (!ref.startsWith('#/') || depth > 32) throw new ConfigError(`only local references are supported: ${ref}`);
    node = ref
      .slice(2)
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<unknown>((at, part) => (at as Json | undefined)?.[part], doc) as Json;
    if (node === undefined) throw new ConfigError(`${ref} does not exist in the document`);
  }
  return node;
}

/** The paging of an operation whose success answer is a page, if it is one. */
function paging(doc: Json, op: Json, queryParams: string[]): Operation['paging'] {
  const cursorParam = CURSOR_PARAMS.find((p) => queryParams.includes(p));
  if (!cursorParam) return undefined;
  const responses = (op.responses ?? {}) as Json;
  const success = Object.keys(responses).find((status) => /^2\d\d$/.test(status));
  if (!success) return undefined;
  const content = (resolve(doc, responses[success]).content ?? {}) as Json;
  const media = content['application/json'] as Json | undefined;
  if (!media?.schema) return undefined;
  const schema = resolve(doc, media.schema);
  if (schema.type === 'array') return { cursorParam };
  const properties = (schema.properties ?? {}) as Json;
  const itemsField = ITEMS_FIELDS.find((f) => properties[f] && resolve(doc, properties[f]).type === 'array');
  if (!itemsField) return undefined;
  return { cursorParam, itemsField, nextField: NEXT_FIELDS.find((f) => properties[f]) };
}

/** Every operation of the document, checked for clashing names. */
export function operations(doc: Json): Operation[] {
  if (typeof doc.openapi !== 'string' || !doc.openapi.startsWith('3.')) throw new ConfigError('the document is not OpenAPI 3');
  const found: Operation[] = [];
  for (const [route, item] of Object.entries((doc.paths ?? {}) as Json)) {
    const pathItem = resolve(doc, item);
    const shared = (pathItem.parameters ?? []) as unknown[];
    for (const method of METHODS) {
      const op = pathItem[method] as Json | undefined;
      if (!op) continue;
      const params = new Map<string, Json>();
      for (const p of [...shared, ...((op.parameters ?? []) as unknown[])]) {
        const param = resolve(doc, p);
        params.set(`${param.in}:${param.name}`, param);
      }
      const named = (where: string) => [...params.values()].filter((p) => p.in === where).map((p) => p.name as string);
      const tag = Array.isArray(op.tags) && typeof op.tags[0] === 'string' ? (op.tags[0] as string) : undefined;
      const group = tag === undefined ? undefined : camel(tag);
      let id = typeof op.operationId === 'string' ? op.operationId : `${method} ${route.replace(/\{[^}]*\}/g, '')}`;
      if (tag !== undefined && new RegExp(`^${tag.replace(/[^A-Za-z0-9]/g, '.')}[._-]`, 'i').test(id)) id = id.slice(tag.length + 1);
      let body: Operation['body'];
      if (op.requestBody) {
        const requestBody = resolve(doc, op.requestBody);
        const media = Object.keys((requestBody.content ?? {}) as Json);
        const mediaType = media.find((m) => m === 'application/json') ?? media[0];
        if (!mediaType) throw new ConfigError(`${method.toUpperCase()} ${route}: a request body without content`);
        const name = typeof op['x-codegen-request-body-name'] === 'string' ? (op['x-codegen-request-body-name'] as string) : 'body';
        body = { name, required: requestBody.required === true, mediaType };
      }
      const queryParams = named('query');
      found.push({
        group,
        name: camel(id),
        method,
        path: route,
        summary: typeof op.summary === 'string' ? op.summary : undefined,
        pathParams: named('path'),
        queryParams,
        body,
        paging: paging(doc, op, queryParams),
      });
    }
  }
  const names = new Set<string>();
  for (const op of found) {
    const full = `${op.group ?? ''}.${op.name}`;
    if (names.has(full)) throw new ConfigError(`two operations are named ${full.replace(/^\./, '')}: give them distinct operationIds`);
    names.add(full);
  }
  return found;
}

/** The TypeScript of one method. `P` is the operation's entry in openapi-typescript's `paths`. */
function method(op: Operation): string {
  const P = `paths[${JSON.stringify(op.path)}][${JSON.stringify(op.method)}]`;
  const argTypes: string[] = [];
  const pathArgs = op.pathParams.map((p) => `${key(p)}: ${member('args', p)}`);
  const queryNames = op.queryParams.filter((q) => q !== op.paging?.cursorParam);
  if (op.pathParams.length) argTypes.push(`${P}['parameters']['path']`);
  if (queryNames.length) {
    const query = `NonNullable<${P}['parameters']['query']>`;
    argTypes.push(op.paging ? `Omit<${query}, ${JSON.stringify(op.paging.cursorParam)}>` : query);
  }
  if (op.body) {
    const content = `NonNullable<${P}['requestBody']>['content'][${JSON.stringify(op.body.mediaType)}]`;
    argTypes.push(`{ ${key(op.body.name)}${op.body.required ? '' : '?'}: ${content} }`);
  }
  const requiredArgs = op.pathParams.length > 0 || op.body?.required === true;
  const argList = argTypes.length ? `args: ${argTypes.join(' & ')}${requiredArgs ? '' : ' = {}'}` : '';
  const init: string[] = [];
  const params: string[] = [];
  if (pathArgs.length) params.push(`path: { ${pathArgs.join(', ')} }`);
  const queryArgs = queryNames.map((q) => `${key(q)}: ${member('args', q)}`);
  if (op.paging) queryArgs.push(`${key(op.paging.cursorParam)}: cursor`);
  if (queryArgs.length) params.push(`query: { ${queryArgs.join(', ')} }`);
  if (params.length) init.push(`params: { ${params.join(', ')} }`);
  if (op.body) init.push(`body: ${member('args', op.body.name)}`);
  const call = `http.${op.method.toUpperCase()}(${JSON.stringify(op.path)}${init.length ? `, { ${init.join(', ')} }` : ''})`;
  const doc = `/** \`${op.method.toUpperCase()} ${op.path}\`${op.summary ? `: ${op.summary.replace(/\*\//g, '*\\/')}` : ''} */`;
  if (op.paging) {
    const shape = [`cursorParam: ${JSON.stringify(op.paging.cursorParam)}`];
    if (op.paging.itemsField) shape.push(`itemsField: ${JSON.stringify(op.paging.itemsField)}`);
    if (op.paging.nextField) shape.push(`nextField: ${JSON.stringify(op.paging.nextField)}`);
    return `${doc}\n${op.name}(${argList}) {\n  return paginate((cursor: string | undefined) => ${call}, { ${shape.join(', ')} });\n}`;
  }
  return `${doc}\nasync ${op.name}(${argList}) {\n  return unwrap(await ${call});\n}`;
}

const indent = (text: string, by: string) =>
  text
    .split('\n')
    .map((l) => (l ? by + l : l))
    .join('\n');

/** client.ts: `createApi(options)` with every operation as a named method. */
export function clientSource(doc: Json, ops: Operation[], sdk = '@tessera/sdk'): string {
  const info = (doc.info ?? {}) as Json;
  const groups = new Map<string | undefined, Operation[]>();
  for (const op of ops) groups.set(op.group, [...(groups.get(op.group) ?? []), op]);
  const members: string[] = [];
  for (const op of groups.get(undefined) ?? []) members.push(`${method(op)},`);
  for (const [group, list] of groups) {
    if (group === undefined) continue;
    members.push(`${group}: {\n${indent(list.map((op) => `${method(op)},`).join('\n'), '  ')}\n},`);
  }
  return `// Generated by tessera-sdk from ${String(info.title ?? 'an OpenAPI document')} ${String(info.version ?? '')}; do not edit.
// Regenerate with: tessera-sdk generate <openapi document> <this directory>
import createClient from 'openapi-fetch';
import { AuthOptions, TesseraAuth, paginate, unwrap } from '${sdk}';

import type { components, paths } from './schema';

export type Schemas = components['schemas'];

export interface ApiOptions extends AuthOptions {
  /** The API's base URL. */
  baseUrl: string;
  /** Authentication shared with other clients (default: one made from these options). */
  auth?: TesseraAuth;
}

/** The API's client: one named method per operation; \`auth\` holds the tokens, \`http\` is the openapi-fetch client. */
export function createApi(options: ApiOptions) {
  const auth = options.auth ?? new TesseraAuth(options);
  const http = createClient<paths>({ baseUrl: options.baseUrl.replace(/\\/+$/, '') });
  http.use(auth);
  return {
    auth,
    http,
${indent(members.join('\n'), '    ')}
  };
}

export type Api = ReturnType<typeof createApi>;
`;
}

/** Reads an OpenAPI document (JSON or YAML). */
export async function readDocument(file: string): Promise<Json> {
  const text = await fs.readFile(file, 'utf8');
  try {
    if (/\.ya?ml$/i.test(file)) {
      // js-yaml is what openapi-typescript's own YAML reading uses.
      const yaml = require('js-yaml') as { load(text: string): unknown };
      return yaml.load(text) as Json;
    }
    return JSON.parse(text) as Json;
  } catch (e) {
    throw new ConfigError(`${file} is not a readable OpenAPI document: ${String(e)}`);
  }
}

/** Writes schema.ts and client.ts for the document into `outDir`; returns the operations. */
export async function generate(file: string, outDir: string, sdk = '@tessera/sdk'): Promise<Operation[]> {
  const doc = await readDocument(file);
  const ops = operations(doc);
  const schema = astToString(await openapiTS(doc as never));
  await fs.mkdir(outDir, { recursive: true });
  const header = `// Generated by openapi-typescript from ${path.basename(file)}; do not edit.\n`;
  await fs.writeFile(path.join(outDir, 'schema.ts'), header + schema);
  await fs.writeFile(path.join(outDir, 'client.ts'), clientSource(doc, ops, sdk));
  return ops;
}
