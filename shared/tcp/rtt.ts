/**
 * Retransmission timeout estimation (RFC 6298), with Linux's variant as an option.
 *
 * RFC 6298: RTO = max(RTO.min, SRTT + max(G, 4·RTTVAR)).
 * Linux (tcp_rtt_estimator / tcp_set_rto): the variance term never drops below TCP_RTO_MIN, so
 * RTO = SRTT + max(4·RTTVAR, RTO.min), which is what packetdrill scripts observe.
 */
export type RtoFormula = 'rfc6298' | 'linux';

export class RttEstimator {
  srtt: number | undefined = undefined;
  rttvar = 0;
  /** Current RTO before backoff. */
  baseRto: number;
  /** Number of consecutive backoffs applied (RFC 6298 §5.5). */
  backoff = 0;

  constructor(
    initialMs: number,
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly formula: RtoFormula,
    /** Clock granularity G. */
    private readonly granularityMs = 1,
  ) {
    this.baseRto = initialMs;
  }

  /** The RTO in force, with exponential backoff applied and clamped to the maximum. */
  get rto(): number {
    return Math.min(this.maxMs, this.baseRto * 2 ** this.backoff);
  }

  /** RFC 6298 §2.2–2.3: take a new RTT measurement. */
  sample(rttMs: number): void {
    const r = Math.max(rttMs, 0);
    if (this.srtt === undefined) {
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    const rto =
      this.formula === 'linux'
        ? this.srtt + Math.max(4 * this.rttvar, this.minMs)
        : Math.max(this.minMs, this.srtt + Math.max(this.granularityMs, 4 * this.rttvar));
    this.baseRto = Math.min(this.maxMs, rto);
    this.backoff = 0;
  }

  /** RFC 6298 §5.5: double the timer after it expires. */
  onTimeout(): void {
    if (this.rto < this.maxMs) this.backoff++;
  }

  /**
   * RFC 6298 §5.7: the SYN's timer expired, so no RTT sample was taken; data transmission starts
   * with an RTO of 3 s (Linux TCP_TIMEOUT_FALLBACK), scaled here with the initial RTO.
   */
  fallbackAfterSynTimeout(fallbackMs: number): void {
    this.backoff = 0;
    this.baseRto = Math.min(this.maxMs, Math.max(fallbackMs, this.baseRto));
  }
}
