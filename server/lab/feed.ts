/**
 * A connection's view of one room: it sends the room's snapshot, then the history from the start
 * at the pace the connection drains it (so a newcomer with a slow link never trips the slow-client
 * limit on 20,000 old events), then switches to live, where each new entry is sent as it happens.
 */
import { type BundleEntry, encodeBundle } from '../../shared/protocol/bundle.ts';
import type { Connection } from './connection.ts';
import type { HistoryEntry, Room, RoomFeed } from './room.ts';

/** History replay bundles this many messages or bytes (well under the 8 MiB slow-client limit), then waits for the socket to take them. */
export const REPLAY_CHUNK_MESSAGES = 4096;
export const REPLAY_CHUNK_BYTES = 256 * 1024;

export class Feed implements RoomFeed {
  /** Index of the next history entry to send. */
  private cursor = 0;
  /** True once the history is sent: new entries go out as they happen. */
  live = false;
  private waiting = false;

  constructor(
    readonly conn: Connection,
    readonly room: Room,
  ) {}

  /** Sends the snapshot and starts the history replay. */
  start(): void {
    this.live = false;
    this.cursor = 0;
    this.conn.send(this.room.snapshotMessage(), false);
    this.pump();
  }

  onEntry(entry: HistoryEntry, n: number): void {
    if (!this.live) return;
    this.cursor = n + 1;
    this.conn.send(entry.data, entry.binary);
  }

  onReset(): void {
    this.start();
  }

  onNotice(data: Buffer): void {
    this.conn.send(data, false);
  }

  /**
   * Sends the next chunk of history as one bundle (shared/protocol/bundle.ts): browsers pay per
   * WebSocket message, so tens of thousands of small messages would take seconds. After each
   * chunk it waits for the socket to take it, then goes on.
   */
  private pump(): void {
    if (this.waiting) return; // the pending write callback resumes the replay
    const history = this.room.history;
    while (this.cursor < history.length) {
      const entries: BundleEntry[] = [];
      let bytes = 0;
      while (
        this.cursor < history.length &&
        bytes < REPLAY_CHUNK_BYTES &&
        entries.length < REPLAY_CHUNK_MESSAGES
      ) {
        const e = history[this.cursor++]!;
        entries.push({ binary: e.binary, data: e.data });
        bytes += e.data.length;
      }
      const bundle = Buffer.from(encodeBundle(entries));
      if (this.cursor < history.length) {
        this.waiting = true;
        const sent = this.conn.send(bundle, true, () => {
          this.waiting = false;
          if (!this.conn.closed && this.room.feeds.has(this)) this.pump();
        });
        if (!sent) this.waiting = false;
        return;
      }
      if (!this.conn.send(bundle, true)) return;
    }
    this.live = true;
    this.conn.json({ type: 'room.synced', room: this.room.id, nextN: this.cursor });
  }
}
