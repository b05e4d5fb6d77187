/**
 * The vocabulary of `sidecarctl lint`: where something is, what a rule found, and what a rule is.
 * Rules return {@link RuleFinding}s; the engine turns them into {@link Finding}s (rule id, final
 * severity) after applying the configuration and the `sidecarctl.io/lint-ignore` annotations.
 */
import type { LintModel, LintObject } from './model.js';

/** `info`: said, never failing (an object no schema could check). */
export type Severity = 'error' | 'warning' | 'info';
/** A severity as configured: `off` disables the rule. */
export type Level = Severity | 'off';

/** 1-based line and column in a file, as editors and SARIF count them. */
export interface Position {
  file: string;
  line: number;
  col: number;
}

export interface Finding extends Position {
  rule: string;
  severity: Severity;
  /** What is wrong and how to fix it. */
  message: string;
  /** `Kind/namespace/name` of the object it is about, when there is one. */
  object?: string;
  container?: string;
}

export interface RuleFinding {
  at: Position;
  message: string;
  /** Overrides the rule's default severity for this finding (e.g. Envoy deprecations are warnings). */
  severity?: Severity;
  /** The object it is about: its lint-ignore annotation applies. */
  subject?: LintObject;
  /** The container it is about: `rule@container` in lint-ignore applies. */
  container?: string;
}

export interface Rule {
  /** Stable id, used in configs, annotations and SARIF. */
  id: string;
  severity: Severity;
  /** One line for the rules table and SARIF. */
  summary: string;
  check(model: LintModel): RuleFinding[] | Promise<RuleFinding[]>;
}
