/**
 * Where scaffold puts the injected manifests. A file goes beside its input with `.injected` before
 * the extension; a directory goes to a sibling directory `NAME-injected/` with the same layout, so a
 * later run over the input directory does not read the outputs back in.
 */
import { basename, dirname, extname, join, relative, resolve } from 'node:path';

export function defaultOutput(input: string, isDirectory: boolean): string {
  if (isDirectory) {
    const dir = resolve(input);
    return relative(process.cwd(), join(dirname(dir), `${basename(dir)}-injected`)) + '/';
  }
  const ext = extname(input);
  return join(dirname(input), `${basename(input, ext)}.injected${ext}`);
}

/** The output path of each input file: the output itself for one file, else its place under the output directory. */
export function outputPaths(input: string, isDirectory: boolean, files: string[], output: string): string[] {
  if (!isDirectory && !output.endsWith('/')) return files.map(() => output);
  const base = isDirectory ? resolve(input) : dirname(resolve(input));
  return files.map((file) => join(output, relative(base, resolve(file))));
}
