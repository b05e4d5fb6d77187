// The floor for one CLI run: the yaml library's own parse and stringify of the same stream, in a
// process of its own, output to stdout like `sidecarctl inject`. Nothing sidecarctl does can be
// cheaper than reading and writing the text with the library it is built on.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export function parseAndStringify(text) {
  return parseAllDocuments(text)
    .map((doc) => doc.toString())
    .join('---\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(parseAndStringify(readFileSync(process.argv[2], 'utf8')));
}
