/**
 * DOM events the components fire (kebab-case, bubbling and composed so they cross shadow roots),
 * and their details. Intent flows up as these events; data flows down as properties.
 */
import type { FaultRule, LinkDirection, Seat, SockCall } from '../../shared/protocol/messages.ts';

export interface EventDetails {
  'join-class': { code: string; name: string };
  'enter-room': { room: number; mode: 'A' | 'B' | 'observe' | 'solo' };
  'create-room': { name?: string };
  /** A socket call on seat `seat`'s endpoint. */
  'sock-call': { seat: Seat; call: SockCall };
  'segment-select': { id: number | null; reveal?: boolean };
  /** Scrub to an anchor (null: back to live). */
  'cursor-change': { anchor: number | null };
  'zoom-change': { zoom: number };
  /** The timeline stopped (or started again) following the present. */
  'follow-change': { follow: boolean };
  'held-action': { segId: number; action: 'release' | 'drop' };
  'clock-action': { action: 'pause' | 'resume' | 'step' };
  'clock-speed': { speed: number };
  'clock-policy': { policy: 'seats' | 'ready' | 'instructor' };
  'link-set': { dir?: 'AB' | 'BA'; settings: LinkDirection };
  'fault-add': { rule: FaultRule };
  'fault-remove': { ruleId: number };
  'fault-clear': Record<string, never>;
  'hold-set': { on: boolean };
  'room-reset': Record<string, never>;
  'seat-take': { seat: Seat };
  'seat-release': { seat: Seat };
  'room-leave': Record<string, never>;
}

export type EventName = keyof EventDetails;

export function emit<K extends EventName>(from: HTMLElement, name: K, detail: EventDetails[K]): void {
  from.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
}

export type TcpEvent<K extends EventName> = CustomEvent<EventDetails[K]>;
