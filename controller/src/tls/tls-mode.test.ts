import { GRPC_INSECURE_ENV, InsecureGrpcRefused, grpcTlsMode } from './tls-mode';

describe('grpcTlsMode', () => {
  it('always serves TLS off the loopback and refuses plaintext there', () => {
    expect(grpcTlsMode('0.0.0.0', {})).toBe('tls');
    expect(grpcTlsMode('192.0.2.10', { [GRPC_INSECURE_ENV]: '0' })).toBe('tls');
    expect(() => grpcTlsMode('0.0.0.0', { [GRPC_INSECURE_ENV]: '1' })).toThrow(InsecureGrpcRefused);
    expect(() => grpcTlsMode('fd00::1', { [GRPC_INSECURE_ENV]: '1' })).toThrow(/loopback only/);
  });

  it('on loopback: 0 serves TLS, 1 plaintext', () => {
    for (const host of ['127.0.0.1', '::1', 'localhost', '127.1.2.3']) {
      expect(grpcTlsMode(host, { [GRPC_INSECURE_ENV]: '0' })).toBe('tls');
      expect(grpcTlsMode(host, { [GRPC_INSECURE_ENV]: '1' })).toBe('insecure-loopback');
    }
  });
});
