/** Sidecar images pinned to a version (or a digest), never untagged or `latest`. */
import { sidecars } from '../pod.js';
import type { Rule } from '../types.js';

/** The tag of an image reference, '' when there is none; undefined when pinned by digest. */
export function imageTag(image: string): string | undefined {
  if (image.includes('@')) return undefined;
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastPart.lastIndexOf(':');
  return colon === -1 ? '' : lastPart.slice(colon + 1);
}

export const imageTagRule: Rule = {
  id: 'image-tag',
  severity: 'error',
  summary: 'sidecar images carry a version tag or digest, not none or `latest`',
  check(model) {
    return sidecars(model).flatMap(({ workload, container }) => {
      const image = container.value.image;
      if (typeof image !== 'string') return [];
      const tag = imageTag(image);
      if (tag !== '' && tag !== 'latest') return [];
      const what = tag === '' ? 'has no tag (so it means latest)' : 'is tagged latest';
      return [{
        at: workload.at([...container.path, 'image']),
        message: `sidecar ${container.name} image ${image} ${what}: pin a version (e.g. ${image.replace(/:latest$/, '')}:vX.Y.Z) or a digest, so the same manifest gives the same pod tomorrow`,
        subject: workload,
        container: container.name,
      }];
    });
  },
};
