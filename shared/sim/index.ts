/**
 * The simulator's public surface: the network, its pacer, scenarios and their trace and ladder.
 */
export { EventQueue, type Scheduled } from './event-queue.ts';
export {
  ActiveRule,
  checkRule,
  FAULT_ACTIONS,
  type FaultAction,
  type FaultRule,
  SEND_REASONS,
} from './faults.ts';
export { flagsText, formatLadder, type LadderOptions, segmentText, timeText } from './ladder.ts';
export { checkLinkPatch, DEFAULT_LINK, LINK_FIELDS, type LinkSettings } from './link.ts';
export {
  type DirectionStats,
  type FlyingSegment,
  type HeldSegment,
  type HostSpec,
  Network,
  type NetworkOptions,
  type NetworkSnapshot,
  type SimHost,
  type StepInfo,
  type TraceListener,
} from './network.ts';
export {
  MAX_SPEED,
  MIN_SPEED,
  type PacedNetwork,
  Pacer,
  type PacerClock,
  type PacerOptions,
} from './pacer.ts';
export { Rng } from './rng.ts';
export {
  runScenario,
  type ScenarioRun,
  ScenarioSession,
  type SessionOptions,
  stepData,
  utf8,
} from './runner.ts';
export {
  CALL_OPS,
  type CallStep,
  checkConfig,
  NET_OPS,
  type NetStep,
  type ParseResult,
  parseScenarioText,
  type Scenario,
  type Step,
  scenarioAddrs,
  scenarioHosts,
  validateScenario,
} from './scenario.ts';
export {
  bytesToJson,
  type JsonValue,
  RelativeSeq,
  roundMs,
  type SegmentEventKind,
  type SegmentSummary,
  type SegmentTrace,
  type TraceEvent,
  type TraceType,
  toHex,
  toNdjson,
} from './trace.ts';
