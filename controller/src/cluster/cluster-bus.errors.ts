import { DomainError } from '../errors/domain-error';

/** Programming errors of ClusterBus callers (a bad channel name, an oversized payload). */
export class ClusterBusError extends DomainError {
  static badChannel(channel: string) {
    return new ClusterBusError('validation', 'CLUSTER_CHANNEL_INVALID', `"${channel}" is not a channel name (a-z, 0-9, _; 1-40 characters, starting with a letter)`, 'channel');
  }
  static payloadTooLarge(channel: string, bytes: number) {
    return new ClusterBusError('validation', 'CLUSTER_PAYLOAD_TOO_LARGE', `${bytes} bytes on channel "${channel}" exceed the NOTIFY limit (7999 bytes); send ids and read the rest from the database`, 'payload');
  }
}
