/**
 * The settings layers of a workload, the one rule inject, render, certs and lint all use:
 * defaults < profile < the workload's `sidecarctl.io/*` annotations < its pod template's < flags.
 */
import { getPath, type Path } from '../manifest/edit-ops.js';
import { isPlainObject, podMetadataPath } from '../manifest/workloads.js';
import { annotationLayer, type SettingsLayer } from '../settings/resolve.js';

export interface AnnotationLayer {
  /** Where the annotations are: the object's metadata, or its pod template's. */
  metaPath: Path;
  layer: SettingsLayer;
}

/** The two annotation layers of a workload, lowest first; `locate` says where a node is. */
export function annotationLayers(value: Record<string, unknown>, kind: string, locate: (path: Path) => { file?: string; line?: number }): AnnotationLayer[] {
  return ([['metadata'], podMetadataPath(kind)] as Path[]).flatMap((metaPath) => {
    const annotations = getPath(value, [...metaPath, 'annotations']);
    if (!isPlainObject(annotations)) return [];
    return [{ metaPath, layer: annotationLayer(annotations, (key) => locate([...metaPath, 'annotations', key])) }];
  });
}

/** Every layer in order, for resolveSettings. */
export function workloadLayers(profile: SettingsLayer, annotations: AnnotationLayer[], flags: SettingsLayer): SettingsLayer[] {
  return [profile, ...annotations.map((a) => a.layer), flags];
}
