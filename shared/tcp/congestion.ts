/**
 * NewReno congestion control: RFC 5681 (slow start, congestion avoidance, fast retransmit,
 * fast recovery) with RFC 6582's partial-ACK handling. Windows are in bytes.
 *
 * The socket tells this object what happened (new data ACKed, a duplicate ACK, a timeout); it
 * answers with what to do (retransmit now or not) and keeps cwnd, ssthresh and the phase.
 */

import { seqGt } from './seq.ts';
import type { CcPhase } from './types.ts';

export type DupAckAction = 'none' | 'fast-retransmit' | 'inflate';
export type AckAction = 'none' | 'partial' | 'full';

export class NewReno {
  cwnd: number;
  ssthresh = 0x7fffffff;
  phase: CcPhase = 'slow-start';
  dupAcks = 0;
  /** RFC 6582 "recover": the highest sequence number sent (SND.MAX − 1) when loss recovery began. */
  recover: number;
  /** Bytes ACKed in congestion avoidance since cwnd last grew (RFC 5681 §3.1, byte counting). */
  private caAcked = 0;

  constructor(
    public mss: number,
    initialSegments: number,
    iss: number,
    /**
     * Count bytes (Linux, RFC 3465): slow start grows by the bytes ACKed and congestion avoidance
     * by one MSS per cwnd of bytes ACKed. Without it, RFC 5681's per-ACK equations (2) and (3):
     * min(N, SMSS) per ACK in slow start and SMSS·SMSS/cwnd per ACK in congestion avoidance, so
     * delayed ACKs slow the growth down, as in ns-3 and the textbooks.
     */
    private readonly byteCounting = false,
  ) {
    this.cwnd = initialSegments * mss;
    this.recover = iss;
  }

  /** Re-derive the initial window once the MSS is known (after the handshake). */
  setMss(mss: number, initialSegments: number): void {
    this.mss = mss;
    this.cwnd = initialSegments * mss;
  }

  get inRecovery(): boolean {
    return this.phase === 'fast-recovery';
  }

  /**
   * An ACK that acknowledged `acked` new bytes up to `ack`. `cwndLimited` says whether the sender
   * was using its whole window: Linux (and RFC 7661) do not grow cwnd while application-limited.
   */
  onNewAck(acked: number, ack: number, flightAfter: number, cwndLimited: boolean): AckAction {
    this.dupAcks = 0;
    if (this.phase === 'fast-recovery') {
      if (seqGt(ack, this.recover)) {
        // Full acknowledgment (RFC 6582 §3.2 step 3): deflate the window.
        this.cwnd = Math.min(this.ssthresh, Math.max(flightAfter, this.mss) + this.mss);
        this.phase = 'congestion-avoidance';
        this.caAcked = 0;
        return 'full';
      }
      // Partial acknowledgment (step 3): deflate by the amount ACKed, add back one MSS.
      this.cwnd = Math.max(this.mss, this.cwnd - acked + (acked >= this.mss ? this.mss : 0));
      return 'partial';
    }
    if (this.phase === 'loss-recovery' && seqGt(ack, this.recover)) this.phase = 'slow-start';
    if (!cwndLimited) return 'none';
    if (this.cwnd < this.ssthresh) {
      const grow = this.byteCounting ? acked : Math.min(acked, this.mss);
      this.cwnd += Math.min(grow, Math.max(this.mss, this.ssthresh - this.cwnd));
      if (this.phase !== 'loss-recovery')
        this.phase = this.cwnd < this.ssthresh ? 'slow-start' : 'congestion-avoidance';
    } else {
      this.phase = 'congestion-avoidance';
      if (this.byteCounting) {
        this.caAcked += acked;
        if (this.caAcked >= this.cwnd) {
          this.caAcked -= this.cwnd;
          this.cwnd += this.mss;
        }
      } else {
        this.cwnd += Math.max(1, Math.floor((this.mss * this.mss) / this.cwnd));
      }
    }
    return 'none';
  }

  /**
   * A duplicate ACK (RFC 5681 §2). `ack` is its acknowledgment number, `sndMax` the highest
   * sequence number sent so far.
   */
  onDupAck(ack: number, sndMax: number, flight: number): DupAckAction {
    this.dupAcks++;
    if (this.phase === 'fast-recovery') {
      this.cwnd += this.mss;
      return 'inflate';
    }
    if (this.dupAcks === 3) {
      // RFC 6582 §3.2 step 2: only if this ACK covers more than "recover" (avoid a second FR).
      if (!seqGt(ack, this.recover)) return 'none';
      this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
      this.cwnd = this.ssthresh + 3 * this.mss;
      this.recover = (sndMax - 1) >>> 0;
      this.phase = 'fast-recovery';
      return 'fast-retransmit';
    }
    return 'none';
  }

  /** RFC 5681 §3.1 eq. 4 and RFC 6582 §4: the retransmission timer expired. */
  onTimeout(flight: number, sndMax: number, firstTimeout: boolean): void {
    if (firstTimeout) this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.dupAcks = 0;
    this.caAcked = 0;
    this.recover = (sndMax - 1) >>> 0;
    this.phase = 'loss-recovery';
  }
}
