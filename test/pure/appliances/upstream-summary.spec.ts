import { summarizeUpstream, vapiErrorToGatewayError } from '../../../src/problems/vapi-error-map.js';

const RUN = { appliance: 'vc-a', description: 'run backup schedule default', notFound: 'SCHEDULE_NOT_FOUND' } as const;

/** What an appliance (or whatever answers in its name) says reaches callers and logs: hostile bodies must be bounded. */
describe('the upstream summary of an appliance error', () => {
  it('survives args that cannot be turned into text (an object whose toString is not a function)', () => {
    const body = JSON.parse(
      '{"error_type":"INVALID_ARGUMENT","messages":[{"id":"x","default_message":"bad","args":[{"toString":"x"},{"valueOf":1},null,7,true,["a"]]}]}',
    );
    const error = vapiErrorToGatewayError(400, body, RUN);
    expect(error.code).toBe('APPLIANCE_REJECTED');
    expect(error.details.upstream?.messages[0].args).toEqual([
      '{"toString":"x"}',
      '{"valueOf":1}',
      'null',
      '7',
      'true',
      '["a"]',
    ]);
  });

  it('keeps at most 10 messages of at most 1000 characters, 10 args of 200 and an error type of 100', () => {
    const huge = 'm'.repeat(100_000);
    const body = {
      error_type: 'E'.repeat(5000),
      messages: Array.from({ length: 1000 }, (_, i) => ({
        id: `id.${i}.${'i'.repeat(5000)}`,
        default_message: huge,
        args: Array.from({ length: 1000 }, () => huge),
      })),
    };
    const upstream = summarizeUpstream(400, body);
    expect(upstream.errorType).toHaveLength(100);
    expect(upstream.messages).toHaveLength(10);
    for (const m of upstream.messages) {
      expect(m.id.length).toBeLessThanOrEqual(200);
      expect(m.message).toHaveLength(1000);
      expect(m.args).toHaveLength(10);
      for (const a of m.args) expect(a).toHaveLength(200);
    }
    const error = vapiErrorToGatewayError(400, body, RUN);
    expect(error.detail.length).toBeLessThan(1300);
  });

  it('makes every string well-formed, without NUL or other control characters', () => {
    const upstream = summarizeUpstream(500, {
      error_type: 'ERROR\u0000',
      messages: [{ id: 'a\ud800', default_message: 'line\u0000one\u001b[31m red', args: ['\udc00'] }],
    });
    expect(upstream.errorType).toBe('ERROR\uFFFD');
    expect(upstream.messages[0]).toEqual({ id: 'a\uFFFD', message: 'line\uFFFDone\uFFFD[31m red', args: ['\uFFFD'] });
  });
});
