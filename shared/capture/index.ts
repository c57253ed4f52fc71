/**
 * Capture export: pcap and pcapng files of a simulator trace, for Wireshark and tshark
 * (docs/capture.md).
 */

export { timestampNs } from './bytes.ts';
export {
  buildCapture,
  CAPTURE_MEDIA_TYPES,
  type CapturedPacket,
  type CaptureFormat,
  type CaptureOptions,
  type CapturePoint,
  capturePackets,
  describeRule,
} from './capture.ts';
export { LINKTYPE_RAW, type PcapOptions, type PcapPacket, writePcap } from './pcap.ts';
export { type PcapngFile, type PcapngInterface, type PcapngPacket, writePcapng } from './pcapng.ts';
