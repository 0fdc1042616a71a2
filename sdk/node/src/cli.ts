#!/usr/bin/env node
/** `tessera-sdk generate <openapi.json|yaml> <outDir>`: a typed client with named methods (see generate.ts). */
import { TesseraError } from './errors';
import { generate } from './generate';

const USAGE = 'usage: tessera-sdk generate <openapi document (JSON or YAML)> <output directory> [--sdk <module>]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'generate') {
    console.error(USAGE);
    return 2;
  }
  let sdk = '@tessera/sdk';
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--sdk' && i + 1 < rest.length) sdk = rest[++i];
    else positional.push(rest[i]);
  }
  if (positional.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  const [document, outDir] = positional;
  const ops = await generate(document, outDir, sdk);
  const groups = new Set(ops.map((op) => op.group ?? '(top level)'));
  console.log(`${outDir}: ${ops.length} operations in ${groups.size} groups (${[...groups].join(', ')})`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof TesseraError ? `tessera-sdk: ${e.message}` : e);
    process.exit(1);
  },
);
