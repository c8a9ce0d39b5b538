import { controllerTargets } from './client';

describe('controllerTargets', () => {
  it('reads one address or a comma-separated list of replicas, dropping scheme prefixes', () => {
    expect(controllerTargets('10.0.0.5:50051')).toEqual(['10.0.0.5:50051']);
    expect(controllerTargets('grpc://a:50051, b:50051,http://[::1]:50052/')).toEqual(['a:50051', 'b:50051', '[::1]:50052']);
  });

  it('refuses an empty entry, naming the option', () => {
    expect(() => controllerTargets('a:50051,,b:50051')).toThrow(/^controller: an empty address/);
    expect(() => controllerTargets('')).toThrow(/^controller: an empty address/);
  });
});
