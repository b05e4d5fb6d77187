/** Fluentd configs in ConfigMaps accepted by the pinned Fluentd, with the plugins of the image that runs them. */
import { FLUENTD_IMAGES, FLUENTD_VERSION, validateFluentdConfig } from '../../validate/fluentd.js';
import type { EmbeddedConfig, LintModel } from '../model.js';
import type { Rule, RuleFinding } from '../types.js';
import { fluentdDeliveryIssues } from '../fluent-delivery.js';

/**
 * The plugins available to a config: those of the known image a pod runs it with (a pod that
 * mounts the ConfigMap and has a container on a pinned Fluentd image). Unknown: every plugin the
 * validator knows, so hand-built images are not flagged for plugins they may well have.
 */
function pluginsFor(model: LintModel, config: EmbeddedConfig): readonly string[] | undefined {
  const configMap = config.owner.ref.name;
  for (const workload of model.workloads) {
    if (workload.source !== config.owner.source && workload.ref.namespace !== config.owner.ref.namespace) continue;
    const volumes = Array.isArray(workload.spec.volumes) ? (workload.spec.volumes as Record<string, unknown>[]) : [];
    const mounts = volumes.some((v) => (v?.configMap as { name?: unknown } | undefined)?.name === configMap);
    if (!mounts) continue;
    for (const container of workload.containers) {
      const image = Object.values(FLUENTD_IMAGES).find((i) => i.image === container.value.image);
      if (image) return image.plugins;
    }
  }
  return undefined;
}

export const fluentdConfig: Rule = {
  id: 'fluentd-config',
  severity: 'error',
  summary: `Fluentd configs (ConfigMap keys \`fluent.conf\`, \`fluentd*.conf\`) are accepted by Fluentd ${FLUENTD_VERSION} with the plugins of the pinned image that runs them; its recommendations are warnings`,
  check(model) {
    return model.configs
      .filter((c) => c.kind === 'fluentd')
      .flatMap((config) => {
        const lines = config.text.split('\n');
        // Fluentd's issues carry a line only: point at the line's first word.
        const col = (line: number) => (lines[line - 1] ?? '').search(/\S|$/) + 1;
        const valid: RuleFinding[] = validateFluentdConfig(config.text, pluginsFor(model, config)).map((i) => ({
          at: config.map({ line: i.line, col: col(i.line) }),
          message: `${config.key}: ${i.message}`,
          severity: i.severity,
          subject: config.owner,
        }));
        // Accepted by Fluentd, but losing or mangling logs when run (warnings).
        const delivery: RuleFinding[] = fluentdDeliveryIssues(config.text).map((i) => ({
          at: config.map({ line: i.line, col: col(i.line) }),
          message: `${config.key}: ${i.message}`,
          severity: 'warning',
          subject: config.owner,
        }));
        return [...valid, ...delivery];
      });
  },
};
