/**
 * Whether a Logtail pipeline config, as the service answers it, holds what the product wants. The
 * service may fill in fields of its own on read (defaults, the flusher's `Project`); comparing
 * whole plugins would then update the config on every apply, and every update reaches every agent.
 */
import { canonicalJson } from "../util/json";

type Plugin = Readonly<Record<string, unknown>>;

export interface PipelinePlugins {
  inputs?: readonly Plugin[];
  processors?: readonly Plugin[];
  flushers?: readonly Plugin[];
}

/**
 * The same plugins in the same order, each with the product's fields at the product's values:
 * the fields of the desired plugin, and for inputs also `ownedInputKeys` (options the product sets
 * on some routes only: one it set before and no longer wants is a difference). Any other field
 * of the current plugin is the service's and left alone.
 */
export function pipelineConfigHolds(
  current: PipelinePlugins,
  desired: Required<PipelinePlugins>,
  ownedInputKeys: readonly string[],
): boolean {
  const holds = (have: readonly Plugin[] = [], want: readonly Plugin[], extraKeys: readonly string[]) =>
    have.length === want.length &&
    want.every((plugin, index) => {
      const found = have[index] ?? {};
      const keys = new Set([...Object.keys(plugin), ...extraKeys]);
      return [...keys].every((key) => canonicalJson(found[key]) === canonicalJson(plugin[key]));
    });
  return (
    holds(current.inputs, desired.inputs, ownedInputKeys) &&
    holds(current.processors, desired.processors, []) &&
    holds(current.flushers, desired.flushers, [])
  );
}
