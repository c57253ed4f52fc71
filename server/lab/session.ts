import { randomBytes } from 'node:crypto';
import type { Role, SessionInfo } from '../../shared/protocol/messages.ts';
import type { Connection } from './connection.ts';
import type { LabClass } from './lab.ts';
import type { Room, SeatRef } from './room.ts';

/**
 * A person: a name in a class (or the instructor), held by a secret resume token. The session,
 * not the connection, owns seats, so a reloaded tab that resumes gets them back.
 */
export class Session implements SeatRef {
  readonly token: string;
  conn: Connection | null = null;
  /** The room a student is in (instructors use `watching` instead). */
  room: Room | null = null;
  /** Instructor: rooms joined and classes watched, restored on resume. */
  readonly rooms = new Set<Room>();
  readonly watching = new Map<string, { rooms: boolean }>();
  offlineTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly role: Role,
    readonly klass: LabClass | null,
    /** A kept token (after a restart); a new random one otherwise. */
    token?: string,
  ) {
    this.token = token ?? randomBytes(24).toString('base64url');
  }

  get online(): boolean {
    return this.conn !== null;
  }

  info(): SessionInfo {
    return { id: this.id, name: this.name, role: this.role, classCode: this.klass?.code ?? null };
  }
}
